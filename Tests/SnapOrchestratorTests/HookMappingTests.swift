import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// Each platform's hook arguments mapped onto begin/end (issue 17, adapters), and Google's disk
/// list mapped to mounts on a made-up block layer and mount table.
@Suite(.timeLimit(.minutes(1)))
struct HookMappingTests {
    @Test func qemuGAFreezeBeginsWithoutFreezingAndThawEnds() throws {
        #expect(try QemuGAHook.action(["freeze"]) == .begin(HookBegin(caller: .qemuGA, freeze: false)))
        #expect(try QemuGAHook.action(["thaw"]) == .end(HookEnd(caller: .qemuGA)))
        #expect(throws: HookUsageError.self) { try QemuGAHook.action(["freeze", "x"]) }
        #expect(throws: HookUsageError.self) { try QemuGAHook.action([]) }
    }

    @Test func vmwareFreezeFailIsAnEndWithTheSnapshotFailed() throws {
        #expect(try VMwareHook.action(["freeze"]) == .begin(HookBegin(caller: .vmware, freeze: false)))
        #expect(try VMwareHook.action(["thaw", "scriptArg"]) == .end(HookEnd(caller: .vmware)))
        for spelling in ["freezeFail", "freezefail"] {
            guard case .end(let end) = try VMwareHook.action([spelling]) else {
                Issue.record("\(spelling) is not an end")
                continue
            }
            #expect(end.snapshotFailed?.contains("freezeFail") == true)
        }
        #expect(throws: HookUsageError.self) { try VMwareHook.action(["quiesce"]) }
    }

    @Test func aRepeatedEndGetsTheSameResultOnlyFromItsCallerAndOnlySoon() throws {
        var report = RunReport(runId: "r1", taskId: "r1")
        report.split = SplitReport(
            caller: "aws", leaseMs: 60_000, windowMs: 60_000, bound: .lease, platformFreezes: false, holderPid: 1)
        let ended = Date(timeIntervalSince1970: 1_800_000_000)
        let last = SplitLast(
            runId: "r1", endedAt: SplitText.iso(ended), ending: .leaseExpired, exitCode: 1, collected: true,
            reportPath: nil, stored: true, report: report)
        let soon = ended.addingTimeInterval(90)
        guard
            case .finished(let again, let code, let note)? = SplitEnder.repeated(
                last, caller: "aws", within: .seconds(600), now: soon)
        else {
            Issue.record("a retried post-script 90 s later did not get the run's result")
            return
        }
        #expect(again.runId == "r1" && code == 1)
        #expect(note?.contains("already ended") == true && note?.contains("lease expired") == true, "\(note ?? "")")
        #expect(SplitEnder.repeated(last, caller: "qemu-ga", within: .seconds(600), now: soon) == nil)
        #expect(
            SplitEnder.repeated(last, caller: "aws", within: .seconds(600), now: ended.addingTimeInterval(601)) == nil)
    }

    @Test func awsPreScriptFreezesTheGivenMountsAndDryRunOnlyPlans() throws {
        #expect(
            try AWSHook.action(["pre-script"], mounts: ["/data"])
                == .begin(HookBegin(caller: .aws, freeze: true, mounts: ["/data"])))
        // DLM retries a failed post-script: a repeat gets the run's result again.
        #expect(
            try AWSHook.action(["post-script"], mounts: [])
                == .end(HookEnd(caller: .aws, repeatWithin: .seconds(600))))
        #expect(try AWSHook.action(["dry-run"], mounts: []) == .dryRun(.aws))
        let error = #expect(throws: HookUsageError.self) { try AWSHook.action(["pre"], mounts: []) }
        #expect(error?.message.contains("pre-script, post-script or dry-run") == true)
    }

    @Test(arguments: [(Int32(0), Int32(0)), (3, 0), (1, 1), (2, 2)])
    func aDegradedButQuiescedRunLetsThePlatformGoOn(_ run: Int32, _ seen: Int32) {
        #expect(HookExit.code(run) == seen)
    }

    // MARK: Google's disk list

    /// sda (8:0) holds `/boot` on sda1 (the table names no system mount: nothing here is frozen,
    /// but the hook tests keep to mounts of their own); sdb (8:16) has partitions sdb1 (/data, and a bind mount of it)
    /// and sdb2 (/logs); sdc (8:32, SCSI 0/2) holds an LVM volume dm-0 (/db); sdd (8:48) has no
    /// filesystem mounted.
    static let table = MountInfoParser.parse(
        """
        22 1 8:1 / /boot rw,relatime shared:1 - ext4 /dev/sda1 rw
        30 22 8:17 / /data rw,relatime shared:2 - ext4 /dev/sdb1 rw
        31 22 8:18 / /logs rw,relatime - xfs /dev/sdb2 rw
        32 22 253:0 / /db rw,relatime - xfs /dev/mapper/vg-db rw
        33 22 8:17 /sub /srv/bind rw,relatime - ext4 /dev/sdb1 rw
        34 22 0:25 / /run rw - tmpfs tmpfs rw
        """
    ).entries

    struct FakeBlockLayer: BlockLayer {
        var nodes = [
            "/by-id/google-boot": "8:0", "/by-id/google-data": "8:16", "/by-id/google-db": "8:32",
            "/by-id/google-empty": "8:48", "/by-id/scsi-0Google_PersistentDisk_odd": "8:64", "/dev/sdb": "8:16",
        ]
        var children = ["8:0": ["8:1"], "8:16": ["8:17", "8:18"], "8:32": ["253:0"], "253:0": ["253:0"]]
        func deviceNumber(ofNode path: String) -> String? { nodes[path] }
        func dependents(of device: String) -> [String] { children[device] ?? [] }
        func scsiDevices(target: Int, lun: Int) -> [String] { target == 0 && lun == 2 ? ["8:32"] : [] }
    }

    let mapper = DiskMountMapper(layer: FakeBlockLayer(), byIdDirectory: "/by-id")

    @Test func aDiskMapsToTheMountsOfItsPartitionsAndHolders() {
        #expect(mapper.map("data", mounts: Self.table) == .init(mounts: ["/data", "/logs", "/srv/bind"], problems: []))
        #expect(mapper.map("db", mounts: Self.table).mounts == ["/db"], "a dm holder (with a cycle in sysfs)")
        #expect(mapper.map("0/2", mounts: Self.table).mounts == ["/db"], "SCSI target/lun")
        #expect(mapper.map("/dev/sdb", mounts: Self.table).mounts == ["/data", "/logs", "/srv/bind"])
        #expect(mapper.map("data,db", mounts: Self.table).mounts == ["/data", "/logs", "/db", "/srv/bind"])
        #expect(mapper.map("empty", mounts: Self.table) == .init(mounts: [], problems: []))
    }

    @Test func oneUnmappableDiskMapsNothingAndNamesIt() {
        let mapping = mapper.map("data,missing", mounts: Self.table)
        #expect(mapping.mounts == nil)
        #expect(mapping.problems == ["disk 'missing': no block device /by-id/google-missing"])
        #expect(mapper.map("", mounts: Self.table).mounts == nil)
        #expect(mapper.map("../../dev/sda", mounts: Self.table).mounts == nil, "no path tricks through by-id")
        #expect(mapper.map("1/9", mounts: Self.table).problems == ["disk '1/9': no SCSI device at target/lun 1/9"])
    }

    @Test func gcePreFreezesTheMappedMountsElseTheConfiguredSelectionAndSaysWhy() throws {
        let mapped = try GCEHook.action(["pre", "data"], mounts: [], mapper: mapper, table: Self.table)
        guard case .begin(let begin) = mapped else { throw TestFailure("not a begin: \(mapped)") }
        #expect(begin.freeze && begin.mounts == ["/data", "/logs", "/srv/bind"])
        let fallback = try GCEHook.action(["pre", "data,nope"], mounts: [], mapper: mapper, table: Self.table)
        guard case .begin(let selected) = fallback else { throw TestFailure("not a begin: \(fallback)") }
        #expect(selected.freeze && selected.mounts.isEmpty)
        #expect(selected.notes.first?.contains("google-nope") == true, "\(selected.notes)")
        #expect(selected.notes.first?.contains("freezing the configured selection") == true)
        let nothing = try GCEHook.action(["pre", "empty"], mounts: [], mapper: mapper, table: Self.table)
        #expect(
            nothing
                == .begin(
                    HookBegin(
                        caller: .gce, freeze: false,
                        notes: [
                            "no filesystem is mounted from disks 'empty': nothing to freeze"
                        ])))
        let given = try GCEHook.action(["pre", "data"], mounts: ["/x"], mapper: mapper, table: Self.table)
        #expect(
            given == .begin(HookBegin(caller: .gce, freeze: true, mounts: ["/x"], notes: ["mounts given with --mount"]))
        )
        #expect(
            try GCEHook.action(["post", "data"], mounts: [], mapper: mapper, table: []) == .end(HookEnd(caller: .gce)))
        #expect(throws: HookUsageError.self) { try GCEHook.action(["snap"], mounts: [], mapper: mapper, table: []) }
    }
}
