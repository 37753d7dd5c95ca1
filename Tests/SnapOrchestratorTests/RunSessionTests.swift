import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The one composition root of `snaporch run` and the handler daemon: what the handler settings
/// add to a plan, and which provider the plan gets.
@Suite struct RunSessionTests {
    static let disk = "https://acct.blob.core.windows.net/vhds/d0.vhd?sv=1&sig=secret"

    func config(_ provider: String, method: String? = nil) throws -> Config {
        var yaml = "version: 1\nfreeze:\n  enabled: false\nsnapshot:\n  provider: \(provider)\n"
        if provider == "command" { yaml += "  command: [/bin/true]\n" }
        if let method { yaml += "  method: \(method)\n" }
        return try #require(ConfigDecoder(file: "c.yaml").decode(Array(yaml.utf8)).config)
    }

    func session(_ request: HandlerRequest?) -> RunSession {
        RunSession(paths: Paths(root: "/nonexistent"), executable: "/bin/false", environment: [:], request: request)
    }

    var request: HandlerRequest {
        HandlerRequest(
            disks: [SASURI(Self.disk)], snapshotMethod: .onlyHost,
            host: HostSnapshotRequest(
                taskId: "t", snapshotTaskToken: "", diskIds: [-1], settings: [:], metadata: [:],
                instantAccessDurationMinutes: nil),
            metadata: [])
    }

    @Test func handlerSettingsSupplyDisksAndMethodWhenNothingElseDoes() throws {
        let plan = session(request).plan(try config("blob"), options: RunOptions())
        #expect(plan.disks.map(\.description) == [SASURI(Self.disk).description])
        #expect(plan.config.snapshot.method == .onlyHost)
        #expect(session(request).provider(for: plan) is MethodSnapshotProvider)
    }

    @Test func theCommandLineAndTheConfigWinOverTheSettings() throws {
        var options = RunOptions()
        options.disks = [SASURI("https://acct.blob.core.windows.net/vhds/mine.vhd")]
        let plan = session(request).plan(try config("blob", method: "onlyGuest"), options: options)
        #expect(plan.disks == options.disks)
        #expect(plan.config.snapshot.method == .onlyGuest)
    }

    @Test func withoutSettingsThePlanIsTheConfigsAndACommandKeepsItsProvider() throws {
        let bare = session(nil).plan(try config("blob"), options: RunOptions())
        #expect(bare.disks.isEmpty && bare.config.snapshot.method == nil)
        let command = session(request).plan(try config("command"), options: RunOptions())
        #expect(command.config.snapshot.method == nil)
        #expect(session(request).provider(for: command) is CommandSnapshotProvider)
        #expect(session(nil).provider(for: session(nil).plan(try config("none"), options: RunOptions())) == nil)
    }
}
