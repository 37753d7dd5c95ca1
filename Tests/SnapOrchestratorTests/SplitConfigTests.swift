import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The `split:` section and the split-phase plan: bounded lease, unknown keys, `platform` reserved
/// to `begin`, and the window a split plan derives (what the holds' dead-man reads).
@Suite struct SplitConfigTests {
    func decode(_ text: String) -> (Config?, [Diagnostic]) {
        let r = ConfigDecoder(file: "p.yaml").decode(Array(("version: 1\n" + text).utf8))
        return (r.config, r.diagnostics.filter { $0.severity == .error })
    }

    @Test func theLeaseDecodesAndDefaultsToSixtySeconds() {
        #expect(decode("split:\n  lease: 2m\n").0?.split.lease == .seconds(120))
        #expect(decode("freeze:\n  enabled: false\n").0?.split.lease == .seconds(60))
    }

    @Test(arguments: [
        ("split:\n  lease: 500ms\n", "p.yaml:3:10: error: 'split.lease' must be at least 1s, found 500ms"),
        ("split:\n  lease: 31m\n", "p.yaml:3:10: error: 'split.lease' must be at most 30m, found 31m"),
        ("split:\n  leese: 10s\n", "p.yaml:3:3: error: unknown key 'leese' in 'split'"),
        ("snapshot:\n  provider: platform\n", "p.yaml:3:13: error: 'snapshot.provider: platform' is what"),
    ])
    func badSplitSettingsAreErrorsNamingLineAndKey(_ text: String, _ message: String) {
        let (config, errors) = decode(text)
        #expect(config == nil)
        #expect(errors.contains { $0.rendered.hasPrefix(message) }, "\(errors.map(\.rendered))")
    }

    @Test func aSplitPlanWaitsForTheLeaseAndCutsTheFreezeTimeoutToIt() {
        var config = Config()
        config.freeze.mounts = []
        var options = RunOptions()
        options.freeze = false
        options.split = SplitWindow(caller: "qemu-ga", lease: .seconds(90), platformFreezes: true)
        let plan = Planner(environment: [:]).plan(config, options: options)
        #expect(plan.config.snapshot.provider == .platform && plan.snapshots)
        #expect(plan.config.snapshot.timeout == .seconds(90))
        #expect(plan.splitWindow?.limit == .seconds(90) && plan.splitWindow?.bound == .lease)
        #expect(plan.platformFreezes)
        // Freezing ourselves: the window is the shorter of the lease and freeze.timeout.
        options.freeze = true
        options.split?.platformFreezes = false
        options.split?.lease = .seconds(10)
        let short = Planner(environment: [:]).plan(config, options: options)
        #expect(short.config.freeze.timeout == .seconds(10) && short.splitWindow?.bound == .lease)
        options.split?.lease = .seconds(600)
        let long = Planner(environment: [:]).plan(config, options: options)
        #expect(long.config.freeze.timeout == .seconds(30) && long.splitWindow?.bound == .freezeTimeout)
        #expect(!long.platformFreezes)
    }
}
