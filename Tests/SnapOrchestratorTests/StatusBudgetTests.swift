import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The status documents stay within the guest agent's 128 KiB whatever the plugins print, and keep
/// the shape the agent can truncate (never a null `formattedMessage`).
@Suite struct StatusBudgetTests {
    /// A report whose two plugins printed `bytes` on stdout and stderr, pre and post.
    static func noisyReport(bytes: Int, filler: Character = "x") -> RunReport {
        var report = HandlerStatusTests.report("app")
        var second = report.plugins[0]
        second.name = "app2"
        report.plugins.append(second)
        for i in report.plugins.indices {
            for phase in 0..<2 {
                var step = StepReport(status: .succeeded)
                step.attempts = 1
                step.exitCode = 0
                step.stdoutTail = String(repeating: filler, count: bytes - 4) + "END\(i)"
                step.stderrTail = String(repeating: "\u{1}", count: bytes / 2) + "ERR\(i)"
                if phase == 0 { report.plugins[i].pre = step } else { report.plugins[i].post = step }
            }
        }
        return report
    }

    /// Every `formattedMessage` of the status file (top level and substatus) is an object with
    /// `lang` and `message`, as the guest agent requires.
    static func checkAgentShape(_ text: String) throws {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        let body = try #require(json.first?["status"] as? [String: Any])
        let substatus = try #require(body["substatus"] as? [[String: Any]])
        #expect(!substatus.isEmpty)
        for formatted in [body["formattedMessage"]] + substatus.map({ $0["formattedMessage"] }) {
            let object = try #require(formatted as? [String: Any], "a null or missing formattedMessage")
            #expect(object["lang"] is String && object["message"] is String)
        }
    }

    @Test func twoPluginsPrinting60KiBStayUnderTheAgentsLimit() throws {
        let report = Self.noisyReport(bytes: 60 * 1024)
        let untrimmed = StatusMapper.status(
            for: report, parameters: HandlerStatusTests.parameters(), storage: HandlerStatusTests.storage)
        #expect(StatusBudget.size(untrimmed) > StatusBudget.agentLimit, "the scenario must need trimming")
        let fitted = StatusBudget.fit(untrimmed)
        let file = fitted.fileDocument()
        #expect(file.utf8.count <= StatusBudget.fileLimit)
        #expect(fitted.blobDocument().utf8.count <= file.utf8.count)
        try Self.checkAgentShape(file)
        // Output tails went first: the report is still there, with the ends of the outputs and the marker.
        let trimmed = try #require(fitted.reportJSON)
        #expect(trimmed.contains("\"statusTrimmed\""))
        #expect(trimmed.contains("last-report.json") && trimmed.contains("logsBlobUri"))
        #expect(trimmed.contains("END0") && trimmed.contains("END1"))
        #expect(trimmed.contains("\"consistency\":\"application\""))
        // Deterministic: the same input gives the same documents.
        #expect(StatusBudget.fit(untrimmed).fileDocument() == file)
    }

    @Test func aSmallStatusIsLeftAlone() {
        let status = StatusMapper.status(
            for: HandlerStatusTests.report("app"), parameters: HandlerStatusTests.parameters(),
            storage: HandlerStatusTests.storage)
        #expect(StatusBudget.fit(status).fileDocument() == status.fileDocument())
        #expect(!(status.reportJSON ?? "").contains("statusTrimmed"))
    }

    @Test func detailsAndThenTheReportGoWhenTailsAreNotEnough() throws {
        var report = HandlerStatusTests.report("app")
        report.reasons = (0..<400).map { "reason \($0): " + String(repeating: "r", count: 600) }
        let status = StatusMapper.status(
            for: report, parameters: HandlerStatusTests.parameters(), storage: HandlerStatusTests.storage)
        let fitted = StatusBudget.fit(status)
        #expect(StatusBudget.size(fitted) <= StatusBudget.fileLimit)
        try Self.checkAgentShape(fitted.fileDocument())
        #expect(fitted.code == status.code && fitted.snapshotConsistency == status.snapshotConsistency)
        // A message of any length is cut, never dropped.
        var long = status
        long.reportJSON = nil
        long.message = String(repeating: "m", count: 300_000)
        let cut = StatusBudget.fit(long)
        #expect(StatusBudget.size(cut) <= StatusBudget.fileLimit)
        #expect(cut.message.hasPrefix("mmmm") && cut.message.hasSuffix("[trimmed]"))
    }

    @Test func tailsKeepTheEndAndWholeCharacters() {
        let text = String(repeating: "é", count: 100) + "END"
        let tail = StatusBudget.tail(text, 10)
        #expect(tail.hasSuffix("END") && tail.hasPrefix("["))
        #expect(!tail.contains("\u{FFFD}"))
    }

    /// The original's semantics (reference §1.5, §5.1): while the daemon works the file says
    /// `success` with code 4; a terminal error is `success` at the file level and in `substatus[0]`
    /// (code "0") and the error is in the top-level code and the embedded blob document.
    @Test func statusSemanticsMatchTheOriginal() throws {
        let running = HandlerStatus.transitioning(taskId: "t", ticks: nil)
        for text in [running.fileDocument(), running.blobDocument()] {
            let body = try #require(
                (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])?.first?["status"]
                    as? [String: Any])
            #expect(body["status"] as? String == "success" && body["code"] as? String == "4")
        }
        let failed = HandlerStatus(status: .error, code: 402, message: "CRP timeout limit has reached", taskId: "t")
        let file = try #require(
            (try JSONSerialization.jsonObject(with: Data(failed.fileDocument().utf8)) as? [[String: Any]])?.first?[
                "status"] as? [String: Any])
        #expect(file["status"] as? String == "success" && file["code"] as? String == "402")
        let sub = try #require((file["substatus"] as? [[String: Any]])?.first)
        #expect(sub["status"] as? String == "success" && sub["code"] as? String == "0")
        #expect((sub["name"] as? String)?.contains(#""status": "error""#) == true)
        try Self.checkAgentShape(failed.fileDocument())
    }
}
