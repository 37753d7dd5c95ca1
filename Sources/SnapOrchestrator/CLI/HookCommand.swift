import Foundation
import SnapCore
import SnapSystem

/// `snaporch hook PLATFORM OP [ARG]`: a platform agent's hook call mapped onto a split-phase run
/// (`begin` / `end`), and `snaporch hook install|uninstall PLATFORM`.
struct HookCommand {
    let console: Console
    let paths: Paths

    func run(_ argv: [String]) async throws(UsageError) -> Int32 {
        let args = try Commands.hook.spec.parse(argv)
        let operands = args.operands
        if operands[0] == "install" || operands[0] == "uninstall" { return try install(args) }
        guard let platform = HookPlatform(rawValue: operands[0]) else {
            throw UsageError("unknown platform '\(operands[0])' (qemu-ga, vmware, gce, aws, install, uninstall)")
        }
        let action: HookAction
        do throws(HookUsageError) {
            action = try Self.action(platform, Array(operands.dropFirst()), mounts: args.options["--mount"] ?? [])
        } catch {
            throw UsageError(error.message)
        }
        return HookExit.code(try await perform(action, args))
    }

    /// The action of one platform call (the adapters in Hooks/).
    func mapAction(_ platform: HookPlatform, _ operation: [String], mounts: [String]) throws(HookUsageError)
        -> HookAction
    {
        try Self.action(platform, operation, mounts: mounts, paths: paths)
    }

    static func action(
        _ platform: HookPlatform, _ operation: [String], mounts: [String], paths: Paths = Paths()
    ) throws(HookUsageError) -> HookAction {
        switch platform {
        case .qemuGA: return try QemuGAHook.action(operation)
        case .vmware: return try VMwareHook.action(operation)
        case .aws: return try AWSHook.action(operation, mounts: mounts)
        case .gce:
            let mapper = DiskMountMapper(layer: SysBlockLayer(), byIdDirectory: paths.resolve("/dev/disk/by-id"))
            return try GCEHook.action(operation, mounts: mounts, mapper: mapper, table: MountTable.entries())
        }
    }

    /// Runs the action: a dry run, or the split run's `begin` / `end`.
    func perform(_ action: HookAction, _ args: Arguments) async throws(UsageError) -> Int32 {
        switch action {
        case .dryRun:
            let config = args.value("--config").map { ["--config", $0] } ?? []
            return try await RunCommand(console: console, paths: paths).run(["--dry-run"] + config)
        case .begin(let request):
            for note in request.notes { console.err("snaporch hook \(request.caller.rawValue): \(note)\n") }
            return try await begin(request, args)
        case .end(let request):
            return try await end(request, args)
        }
    }

    /// `hook install|uninstall PLATFORM`.
    func install(_ args: Arguments) throws(UsageError) -> Int32 {
        guard args.operands.count == 2, let platform = HookPlatform(rawValue: args.operands[1]) else {
            throw UsageError("\(args.operands[0]) which platform? qemu-ga, vmware, gce or aws")
        }
        let root = args.value("--root").map { Paths(root: $0) } ?? paths
        let installer = HookInstaller(
            root: root, executable: RunIdentity.executable(), config: args.value("--config"))
        if args.operands[0] == "uninstall" {
            let (removed, kept) = installer.uninstall(platform)
            for path in removed { console.out("removed \(path)\n") }
            for path in kept { console.err("kept \(path): not a snaporch wrapper\n") }
            if removed.isEmpty && kept.isEmpty { console.out("no \(platform.rawValue) wrapper installed\n") }
            return ExitCode.ok
        }
        if platform == .aws {
            console.out(AWSDocument.text(executable: installer.executable, config: installer.config))
            return ExitCode.ok
        }
        do throws(HookUsageError) {
            for path in try installer.install(platform, force: args.has("--force")) {
                console.out("installed \(path)\n")
            }
        } catch {
            console.err("snaporch hook install: \(error.message)\n")
            return ExitCode.failed
        }
        return ExitCode.ok
    }
}
