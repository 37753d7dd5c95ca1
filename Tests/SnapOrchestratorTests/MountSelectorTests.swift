import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

@Suite struct MountSelectorTests {
    static let table = """
        22 27 0:21 / /proc rw,relatime - proc proc rw
        27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
        40 27 7:0 / /data rw,relatime shared:5 master:2 - ext4 /dev/loop0 rw
        41 40 7:1 / /data/logs rw,relatime - xfs /dev/loop1 rw
        42 27 7:0 /sub /srv/bind rw,relatime - ext4 /dev/loop0 rw
        43 27 0:39 / /tmp/mnt\\040space rw,relatime - tmpfs tmpfs rw,size=1024k
        44 27 8:1 / /mnt/resource rw - ext4 /dev/sdb1 rw
        45 27 8:2 / /boot ro,relatime - ext4 /dev/sda2 ro
        46 27 0:50 / /net rw - nfs4 server:/export rw
        47 27 0:51 / /fuse rw - fuse.sshfs host: rw
        48 27 7:2 / /space\\040dir\\134x rw - ext4 /dev/loop2 rw
        """

    var entries: [MountEntry] { MountInfoParser.parse(Self.table).entries }

    @Test func parsesEscapesOptionalFieldsAndSeparator() {
        let e = entries
        #expect(e.count == 11)
        #expect(
            e[2].mountPoint == "/data" && e[2].fsType == "ext4" && e[2].source == "/dev/loop0" && e[2].device == "7:0")
        #expect(e[5].mountPoint == "/tmp/mnt space")
        #expect(e[10].mountPoint == "/space dir\\x")
        #expect(e[4].root == "/sub")
        #expect(e[7].isReadOnly)
    }

    @Test(arguments: [
        "", "garbage", "1 2 3", "x 27 0:1 / /a rw - ext4 /dev/a rw",
        "40 27 7:0 / /data rw no-separator ext4 /dev/loop0 rw",
    ])
    func malformedLinesAreRejected(_ line: String) {
        #expect(MountInfoParser.parseLine(Substring(line)) == nil)
    }

    @Test func automaticSelectionSkipsWithReasonsAndOrdersChildrenFirst() {
        let (chosen, skipped, errors) = MountSelector(explicit: [], exclude: ["/mnt/*"], allowList: nil).select(
            from: entries)
        #expect(errors.isEmpty)
        #expect(chosen.map(\.mountPoint) == ["/space dir\\x", "/data/logs", "/data", "/"])
        let reasons = Dictionary(uniqueKeysWithValues: skipped.map { ($0.mountPoint, $0.reason) })
        #expect(reasons["/proc"]?.contains("pseudo") == true)
        #expect(reasons["/tmp/mnt space"]?.contains("tmpfs") == true)
        #expect(reasons["/mnt/resource"] == "excluded by pattern '/mnt/*'")
        #expect(reasons["/boot"]?.contains("read-only") == true)
        #expect(reasons["/net"]?.contains("network") == true)
        #expect(reasons["/fuse"]?.contains("FUSE") == true)
        #expect(reasons["/srv/bind"]?.contains("same filesystem as /data") == true)
    }

    @Test func explicitSelectionIsExact() {
        let (chosen, skipped, errors) = MountSelector(
            explicit: ["/data/logs", "/srv/bind", "/nope", "/data"], exclude: []
        )
        .select(from: entries)
        #expect(chosen.map(\.mountPoint) == ["/srv/bind", "/data/logs"])  // reverse mount order
        #expect(skipped.map(\.mountPoint) == ["/data"])
        #expect(errors == ["/nope is not a mount point"])
    }

    @Test func allowListIsAHardBound() {
        let (chosen, skipped, _) = MountSelector(explicit: [], exclude: [], allowList: ["/data"]).select(from: entries)
        #expect(chosen.map(\.mountPoint) == ["/data"])
        #expect(skipped.contains { $0.mountPoint == "/" && $0.reason.contains("allow-list") })
    }
}
