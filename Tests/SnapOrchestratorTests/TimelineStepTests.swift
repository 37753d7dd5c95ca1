import Foundation
import Testing

@testable import SnapSystem

/// Timeline steps are typed in the code and the report's strings on the wire.
@Suite struct TimelineStepTests {
    static let steps: [(TimelineStep, String)] = [
        (.pre(plugin: "app"), "pre:app"), (.post(plugin: "db:main"), "post:db:main"),
        (.snapshotPrepare, "snapshot:prepare"), (.freezePrepare, "freeze:prepare"), (.snapshot, "snapshot"),
        (.freezeWindow, "freeze-window"), (.other("hold"), "hold"),
    ]

    @Test(arguments: steps)
    func encodesAsTheReportString(_ step: TimelineStep, _ text: String) throws {
        let json = String(
            decoding: try JSONEncoder().encode(TimelineEntry(step: step, startMs: 1, endMs: 2)), as: UTF8.self)
        #expect(json.contains("\"step\":\"\(text)\""), "\(json)")
        #expect(TimelineStep(rawValue: text) == step)
        let back = try JSONDecoder().decode(TimelineEntry.self, from: Data(json.utf8))
        #expect(back.step == step)
    }

    @Test func aPluginStepNamesItsPhaseAndPlugin() {
        #expect(TimelineStep.pre(plugin: "a").pluginStep! == (.pre, "a"))
        #expect(TimelineStep.post(plugin: "a:b").pluginStep! == (.post, "a:b"))
        #expect(TimelineStep.snapshot.pluginStep == nil)
    }

    @Test func reportEnumsKeepTheirStrings() throws {
        var report = RunReport(runId: "r", taskId: "t")
        report.mode = .rehearsal
        report.snapshot.provider = .host
        report.snapshot.errorCode = .snapshotFailedRestrictedNetwork
        report.errors = [ErrorEntry(.prepostPreScriptFailed, "m")]
        let json = JSONOutput.encode(report, pretty: false)
        #expect(json.contains("\"mode\":\"rehearsal\""))
        #expect(json.contains("\"provider\":\"host\""))
        #expect(json.contains("\"errorCode\":761"))
        #expect(json.contains("{\"code\":300,\"message\":\"m\",\"name\":\"FailedPrepostPreScriptFailed\"}"), "\(json)")
        #expect(try JSONDecoder().decode(RunReport.self, from: Data(json.utf8)) == report)
        #expect(
            StepOutcome(taken: true).rawValue == "snapshot-taken" && StepOutcome(taken: false).rawValue == "no-snapshot"
        )
    }
}
