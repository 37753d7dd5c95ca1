import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

@Suite struct FreezeWavesTests {
    func mount(_ id: Int, _ path: String, _ source: String) -> MountEntry {
        MountEntry(
            mountID: id, parentID: 1, device: "7:\(id)", root: systemRoot, mountPoint: path, mountOptions: ["rw"],
            fsType: "ext4", source: source, superOptions: ["rw"])
    }

    @Test func independentFilesystemsFreezeTogether() {
        let mounts = [
            mount(3, "/data/logs", "/dev/sdc1"), mount(2, "/data", "/dev/sdb1"), mount(1, "/srv", "/dev/sda1"),
        ]
        #expect(FreezeWaves.waves(for: mounts, backingFile: { _ in nil }) == [0, 0, 0])
    }

    @Test func loopDeviceIsFrozenBeforeTheFilesystemHoldingItsImage() {
        let mounts = [
            mount(4, "/srv/inner", "/dev/loop1"),  // image on /data/img/inner.img
            mount(3, "/data", "/dev/loop0"),  // image on /var/images/data.img -> on /var
            mount(2, "/var/log", "/dev/sdc1"),
            mount(1, "/var", "/dev/sda1"),
        ]
        let backing = ["/dev/loop1": "/data/img/inner.img", "/dev/loop0": "/var/images/data.img"]
        #expect(FreezeWaves.waves(for: mounts, backingFile: { backing[$0] }) == [0, 1, 0, 2])
    }

    @Test func backingFileOutsideTheSelectionAddsNoConstraint() {
        let mounts = [mount(2, "/tmp/t/m", "/dev/loop3")]
        #expect(FreezeWaves.waves(for: mounts, backingFile: { _ in "/tmp/t/m.img" }) == [0])
    }
}
