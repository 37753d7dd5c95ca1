import Foundation
import Testing

@testable import SnapCore
@testable import SnapSystem

/// The journal writes its records by hand (`JSONText`); they must be the text `JSONEncoder`
/// wrote (sorted keys, slashes unescaped) and read back by `JSONDecoder` to the same record.
@Suite struct JournalRecordTests {
    static let awkward = "q\"uote \\back/slash\nnew\tline \u{01}\u{1F} é ☃ 🧊"

    static var records: [JournalRecord] {
        let invocation = StepInvocation(
            executable: "/etc/azure/prepost/app post.sh", arguments: ["--to", awkward, ""], checkedArguments: [0, 2],
            environment: ["SNAPORCH_PHASE": "post", "B": awkward, "A": "", "a": "lower"], timeoutMs: 30_000,
            retries: 2, script: "/etc/azure/prepost/app post.sh")
        var withInvocation = JournalState.OwedPost(plugin: "app", executable: nil, arguments: [], timeoutMs: 1)
        withInvocation.invocation = invocation
        var held = JournalState.OwedPost(plugin: "db:release", executable: "/x", arguments: ["a"], timeoutMs: 5)
        held.hold = JournalState.Hold(type: "mysql", endsByEpochMs: 1_796_649_504_123)
        var noEnd = held
        noEnd.hold = JournalState.Hold(type: "postgres", endsByEpochMs: nil)
        var split = JournalRecord.begin(runId: "20261207T131819240Z-cc78fb", taskId: awkward, pid: Int32.max)
        split.split = "qemu-ga"
        return [
            .begin(runId: "r", taskId: "", pid: 1), split, .preStarting(withInvocation), .preStarting(held),
            .preStarting(noEnd), .outcomeKnown(outcome: .noSnapshot, consistency: .filesystem),
            .freezing(["/data", "/mnt/a b", awkward], rcuExpedited: "0"), .freezing([], rcuExpedited: nil),
            JournalRecord(.thawed), .postDone(awkward), JournalRecord(.finished),
        ]
    }

    @Test(arguments: 0..<11)
    func aRecordIsTheTextJSONEncoderWroteAndReadsBack(_ index: Int) throws {
        let record = Self.records[index]
        let line = try #require(record.line())
        #expect(line.last == 0x0A)
        let text = Array(line.dropLast())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        #expect(String(decoding: text, as: UTF8.self) == String(decoding: try encoder.encode(record), as: UTF8.self))
        #expect(try JSONDecoder().decode(JournalRecord.self, from: Data(text)) == record)
    }
}
