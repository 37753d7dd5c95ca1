import Foundation
import Glibc
import Synchronization
import Testing

@testable import SnapSystem

/// The owned descriptor against real pipes and files: write-all over short writes and EINTR,
/// close exactly once, flock, fstat, and the typed errno.
@Suite(.timeLimit(.minutes(1)))
struct FileDescriptorTests {
    @Test func writeAllDeliversEveryByteThroughShortWritesAndInterruptions() throws {
        let pipe = try SmallPipe()
        defer { pipe.closeBoth() }
        let payload = (0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
        // A slow reader that also stalls now and then: the 4 KiB pipe is full most of the time, so the
        // writer blocks; a signal then cuts a write short (some bytes moved) or fails it with EINTR
        // (none moved, the pipe was full).
        let received = Mutex<[UInt8]>([])
        let readerDone = DispatchSemaphore(value: 0)
        let readFD = pipe.readFD
        let reader = Thread {
            defer { readerDone.signal() }
            let fd = FileDescriptor(borrowing: readFD)
            var reads = 0
            while let chunk = try? fd.read(upTo: 1500), !chunk.isEmpty {
                received.withLock { $0 += chunk }
                reads += 1
                usleep(reads % 64 == 0 ? 20_000 : 20)
            }
        }
        reader.start()
        let writeFD = pipe.writeFD
        let (outcome, signals) = withSignalStorm { () -> String? in
            do {
                try FileDescriptor(borrowing: writeFD).writeAll(payload)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(outcome == nil, "writeAll failed: \(outcome ?? "")")
        #expect(signals > 10, "the writer was hardly interrupted (\(signals) signals)")
        pipe.closeWriteEnd()
        // The reader sees the end of the pipe and stops; only then is its end closed.
        #expect(readerDone.wait(timeout: .now() + 10) == .success)
        let got = received.withLock { $0 }
        #expect(got.count == payload.count)
        #expect(got == payload, "bytes lost, duplicated or reordered")
    }

    @Test func closeClosesExactlyOnceAndNeverADescriptorThatReusedTheNumber() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try FileDescriptor.open(dir + "/a", [.writeOnly, .create])
        let number = first.rawValue
        first.close()
        #expect(fcntl(number, F_GETFD) == -1 && errno == EBADF)
        // The kernel hands out the lowest free number: often the one just closed.
        let second = try FileDescriptor.open(dir + "/b", [.writeOnly, .create])
        first.close()
        withExtendedLifetime(first) {}
        try second.writeAll(Array("still open\n".utf8))
        #expect(try second.status().size == 11)
        second.close()
    }

    @Test func exclusiveLockIsRefusedToASecondOpenAndFreedByClose() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lock-\(UUID().uuidString)").path
        defer { unlink(path) }
        let holder = try FileDescriptor.open(path, [.readWrite, .create])
        let contender = try FileDescriptor.open(path, [.readWrite])
        #expect(try holder.tryLockExclusive())
        #expect(try !contender.tryLockExclusive())
        holder.close()
        #expect(try contender.tryLockExclusive())
    }

    @Test func statusAndPositionalIOOfARealFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)").path
        defer { unlink(path) }
        let fd = try FileDescriptor.open(path, [.readWrite, .create, .exclusive], mode: 0o640)
        try fd.setPermissions(0o640)
        try fd.writeAll(Array("hello world".utf8), at: 0)
        try fd.truncate(to: 5)
        #expect(try fd.read(upTo: 64, at: 0) == Array("hello".utf8))
        let status = try fd.status()
        #expect(status.kind == .regular && status.size == 5 && status.permissions == 0o640)
        #expect(status.ownerID == geteuid())
        #expect(try FileStatus.of(FileManager.default.temporaryDirectory.path).kind == .directory)
        #expect(throws: SystemError.self) { try FileDescriptor.open(path, [.writeOnly, .create, .exclusive]) }
    }

    @Test func failuresCarryTheTypedErrnoWithItsNameAndTheKernelsText() {
        do {
            _ = try FileDescriptor.open("/nonexistent-\(UUID().uuidString)/x", [.readOnly])
            Issue.record("opening a missing file succeeded")
        } catch {
            #expect(error.code == .noSuchFile)
            #expect(error.code.name == "ENOENT")
            #expect(error.reason == "No such file or directory")
            #expect(error.description.hasPrefix("open /nonexistent-"))
            #expect(error.description.hasSuffix(": No such file or directory (errno 2)"))
        }
        #expect(Errno.invalidArgument.name == "EINVAL" && Errno.invalidArgument.message == "Invalid argument")
        #expect(Errno(rawValue: 4242).name == "errno 4242")
        if case .failure(let code) = FileDescriptor.openMount("/nonexistent-\(UUID().uuidString)") {
            #expect(code == .noSuchFile)
        } else {
            Issue.record("openMount of a missing path succeeded")
        }
    }
}
