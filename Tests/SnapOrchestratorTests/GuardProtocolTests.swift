import Testing

@testable import SnapCore

/// The guard/watchdog line protocol: every message reads back as itself, and nothing else parses.
@Suite struct GuardProtocolTests {
    static let replies: [GuardReply] = [
        .openFailed(index: 2, errno: 13), .cgroupRefused("memory: /sys/fs/cgroup/x (EPERM)"), .ready,
        .froze(index: 0, errno: 0, micros: 812), .froze(index: 3, errno: 16, micros: 0), .inFlight(index: 1), .frozen,
        .thawed(index: 0, errno: 0), .thawed(index: 4, errno: 22), .window(micros: 41_233), .deadline,
        .ended(processGroup: 4242, errno: 0), .ended(processGroup: 7, errno: 3), .done,
        .late(index: 1, freezeErrno: 0, micros: 2_500_000, thawErrno: -1),
    ]

    static let commands: [GuardCommand] = [
        .endAtDeadline(processGroup: 4242), .freeze, .thaw, .quit, .arm, .exclude(0), .exclude(17), .disarm,
    ]

    @Test(arguments: replies)
    func everyReplyReadsBackAsItself(_ reply: GuardReply) {
        let line = reply.line
        #expect(line.hasSuffix("\n") && line.filter { $0 == "\n" }.count == 1)
        #expect(GuardReply(line: String(line.dropLast())) == reply)
    }

    @Test(arguments: commands)
    func everyCommandReadsBackAsItself(_ command: GuardCommand) {
        #expect(GuardCommand(line: String(command.line.dropLast())) == command)
    }

    @Test func theWireFormatIsTheDocumentedOne() {
        #expect(GuardReply.froze(index: 1, errno: 0, micros: 35).line == "FROZE 1 0 35\n")
        #expect(GuardReply.late(index: 2, freezeErrno: 0, micros: 9, thawErrno: 0).line == "LATE 2 0 9 0\n")
        #expect(GuardReply.thawed(index: 0, errno: 22).line == "THAW 0 22\n")
        #expect(GuardCommand.exclude(3).line == "X 3\n")
        #expect(GuardCommand.endAtDeadline(processGroup: 812).line == "K 812\n")
        #expect(GuardReply.ended(processGroup: 812, errno: 0).line == "ENDED 812 0\n")
        // An older guard's FROZE without the duration still reads.
        #expect(GuardReply(line: "FROZE 1 0") == .froze(index: 1, errno: 0, micros: 0))
        #expect(GuardCommand(byte: UInt8(ascii: "F")) == .freeze)
        #expect(GuardCommand(byte: 0) == nil)
    }

    @Test(arguments: [
        "", "READY ", "READY 1", "FROZE", "FROZE x 0 1", "FROZE -1 0 1", "FROZE 1 0 1 2", "THAW 1",
        "WINDOW", "LATE 1 0 9", "OPEN 1 99999999999", "INFLIGHT -2", "frozen", "DONE\r", "ENDED 1 0", "ENDED -5 0",
        "ENDED 5", "ENDED 99999999999 0",
    ])
    func anythingElseIsNoMessage(_ line: String) {
        #expect(GuardReply(line: line) == nil, "\(line)")
    }

    @Test(arguments: ["", "F ", "X", "X -1", "X a", "A A", "FT", "K", "K 1", "K 0", "K -3", "K x", "K 99999999999"])
    func anythingElseIsNoCommand(_ line: String) {
        #expect(GuardCommand(line: line) == nil, "\(line)")
    }
}
