import Foundation
import Glibc
import Synchronization
import Testing

@testable import SnapSystem

/// The one line reader and poll-with-deadline, against real child processes writing into pipes.
@Suite(.timeLimit(.minutes(1)))
struct LineReaderTests {
    /// Starts `/bin/sh -c script` with its stdout on a pipe; returns the process and the read end.
    func start(_ script: String) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        return (process, pipe)
    }

    func stop(_ process: Process) {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    @Test func aWriterThatNeverWritesTimesOutAtTheDeadline() throws {
        let (process, pipe) = try start("exec sleep 30")
        defer { stop(process) }
        var reader = LineReader(fd: pipe.fileHandleForReading.fileDescriptor)
        let begin = Sys.monotonicNanos()
        let event = reader.next(deadline: begin + 300_000_000)
        let ms = (Sys.monotonicNanos() - begin) / 1_000_000
        #expect(event == .timedOut)
        #expect(ms >= 300 && ms < 1000, "returned after \(ms) ms for a 300 ms deadline")
    }

    @Test func halfALineIsNotALineAndTheRestArrivesLater() throws {
        let (process, pipe) = try start("printf 'hal'; sleep 0.4; printf 'f\\nnext\\n'; exec sleep 30")
        defer { stop(process) }
        var reader = LineReader(fd: pipe.fileHandleForReading.fileDescriptor)
        #expect(reader.next(deadline: Poll.deadline(afterMilliseconds: 150)) == .timedOut)
        #expect(reader.next(deadline: Poll.deadline(afterMilliseconds: 5000)) == .line("half"))
        #expect(reader.next(deadline: Poll.deadline(afterMilliseconds: 5000)) == .line("next"))
        #expect(reader.readLine(timeoutMs: 100) == nil)
    }

    @Test func linesInOneChunkComeOneByOneThenTheEndOfTheWriter() throws {
        let (process, pipe) = try start("printf 'one\\n\\ntwo\\nthree'")
        defer { stop(process) }
        var reader = LineReader(fd: pipe.fileHandleForReading.fileDescriptor, chunkSize: 3)
        #expect(reader.next(deadline: nil) == .line("one"))
        #expect(reader.next(deadline: nil) == .line(""))
        #expect(reader.next(deadline: nil) == .line("two"))
        // A last line without its newline is not a command: the writer is gone.
        #expect(reader.next(deadline: Poll.deadline(afterMilliseconds: 5000)) == .closed)
    }

    @Test func signalsDoNotStretchTheDeadline() throws {
        let (process, pipe) = try start("exec sleep 30")
        defer { stop(process) }
        let fd = pipe.fileHandleForReading.fileDescriptor
        let (result, signals) = withSignalStorm(every: 0.005) { () -> (LineReader.Event, UInt64) in
            var reader = LineReader(fd: fd)
            let begin = Sys.monotonicNanos()
            let event = reader.next(deadline: begin + 400_000_000)
            return (event, (Sys.monotonicNanos() - begin) / 1_000_000)
        }
        #expect(signals > 20, "the reader was hardly interrupted (\(signals) signals)")
        #expect(result.0 == .timedOut)
        #expect(result.1 >= 400 && result.1 < 1200, "returned after \(result.1) ms for a 400 ms deadline")
    }

    @Test func pollSeesDataAndTheEndOfFile() throws {
        let (process, pipe) = try start("printf x")
        defer { stop(process) }
        let fd = pipe.fileHandleForReading.fileDescriptor
        #expect(Poll.waitReadable(fd, deadline: Poll.deadline(afterMilliseconds: 5000)) == .readable)
        #expect(try FileDescriptor(borrowing: fd).read(upTo: 10) == [UInt8(ascii: "x")])
        process.waitUntilExit()
        #expect(Poll.waitReadable(fd, deadline: Poll.deadline(afterMilliseconds: 5000)) == .readable)
        #expect(try FileDescriptor(borrowing: fd).read(upTo: 10) == [])
    }

    /// A reader that comes back after its deadline (its process was stopped, the VM paused, the CPU
    /// busy) still gets what is already in the pipe: the guard's thaw report that arrived in time
    /// is not "no answer". CI saw the watcher declare a live guard lost this way.
    @Test func aPassedDeadlineStillReturnsWhatIsAlreadyThere() throws {
        let (process, pipe) = try start("printf 'THAW 0 0\\nDONE\\n'; exec sleep 30")
        defer { stop(process) }
        let fd = pipe.fileHandleForReading.fileDescriptor
        // Wait (without reading) until the bytes are in the pipe.
        #expect(Poll.waitReadable(fd, deadline: Poll.deadline(afterMilliseconds: 5000)) == .readable)
        let passed = Sys.monotonicNanos() - 1_000_000
        #expect(Poll.waitReadable(fd, deadline: passed) == .readable)
        var reader = LineReader(fd: fd)
        #expect(reader.next(deadline: passed) == .line("THAW 0 0"))
        #expect(reader.readLine(timeoutMs: 0) == "DONE")
        // Nothing more there: a passed deadline times out at once.
        let begin = Sys.monotonicNanos()
        #expect(reader.next(deadline: passed) == .timedOut)
        #expect((Sys.monotonicNanos() - begin) / 1_000_000 < 500)
    }

    /// The look after the deadline is one look: a writer that streams bytes and never a newline
    /// does not keep the reader past its deadline (it used to read on for as long as bytes came).
    @Test func aWriterStreamingWithoutANewlineCannotStretchThePassedDeadline() throws {
        let (process, pipe) = try start("exec tr -d '\\n' < /dev/zero")
        defer { stop(process) }
        let fd = pipe.fileHandleForReading.fileDescriptor
        let returned = DispatchSemaphore(value: 0)
        let event = Mutex<LineReader.Event?>(nil)
        Thread {
            var reader = LineReader(fd: fd)
            let result = reader.next(deadline: Sys.monotonicNanos() + 200_000_000)
            event.withLock { $0 = result }
            returned.signal()
        }.start()
        let inTime = returned.wait(timeout: .now() + 3) == .success
        // Ends a reader still spinning: the writer's end gives it EOF.
        if !inTime { stop(process) }
        #expect(inTime, "the reader went on reading past its deadline")
        if inTime { #expect(event.withLock { $0 } == .timedOut) }
    }
}
