import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Endpoints that accept and never answer (or answer headers and stall, or send a 4 GiB body, or
/// redirect the SAS elsewhere), hit inside the freeze window through the built `snaporch run`, with
/// the blob and the host provider: every run ends within its deadlines, runs its post step,
/// releases the run lock, writes its report and its status blob, and leaves the mount thawed.
@Suite(.serialized, .timeLimit(.minutes(10)), .enabled(if: TestEnv.rootTests, TestEnv.rootReason))
struct HTTPHangTests {
    /// The freeze deadline of every run here; the snapshot calls are cut at it.
    static let freezeTimeout = 2.0
    /// What a run may take beyond its freeze deadline (pre, prepare, post, report, status upload
    /// on a loaded 2-core machine); a hung run takes until the test's own kill (25 s).
    static let slack = 4.0

    enum Provider: String, CaseIterable { case blob, host }

    /// One cycle's figures.
    struct Cycle {
        var seconds: Double
        var snapshotMs: Int
        var hung = false
    }

    func config(_ tree: TestTree, provider: Provider, snapshotTimeout: String) -> String {
        let log = tree.path("post.log")
        let pre = tree.script("s/pre.sh", "true")
        let post = tree.script(
            "s/post.sh",
            """
            echo "post $SNAPORCH_RUN_ID" >> \(log)
            echo 'mysql -uroot -pTopSecret1 --password hunter22 PGPASSWORD=pw3cret'
            """)
        return tree.write(
            "c-\(provider.rawValue).yaml",
            """
            version: 1
            freeze:
              timeout: \(Int(Self.freezeTimeout * 1000))ms
            snapshot:
              provider: \(provider.rawValue)
              timeout: \(snapshotTimeout)
            plugins:
              - name: app
                pre: \(pre)
                post: \(post)
            """)
    }

    /// Runs one cycle against `endpointPort` and checks every promise of a run that met a bad endpoint.
    func cycle(
        _ fx: FreezeFixture, _ m: LoopMount, provider: Provider, endpointPort: Int, status: BlobEmulator,
        snapshotTimeout: String, index: Int
    ) async throws -> Cycle {
        let tree = fx.tree
        let statusURI = try await status.sas("status", "run-\(provider.rawValue)-\(index).json")
        let reportFile = tree.path("report-\(provider.rawValue)-\(index).json")
        var args = [
            "run", "--config", config(tree, provider: provider, snapshotTimeout: snapshotTimeout), "--mount",
            m.mountPoint, "--report", reportFile, "--status-blob",
            "@" + tree.write("status-\(provider.rawValue)-\(index).sas", statusURI + "\n", mode: 0o600),
            "--task-id", "T-\(index)",
        ]
        var env = tree.environment
        env["SNAPORCH_FREEZE_ALLOW"] = m.mountPoint
        switch provider {
        case .blob:
            // SAS URIs go through root-only files: no signature in any argv (another suite scans them).
            let disk =
                "http://127.0.0.1:\(endpointPort)/devstoreaccount1/vhds/d0.vhd?sv=2021-08-06&sr=b&sp=rw&sig=HangSecret%2Bsig"
            args += ["--disk", "@" + tree.write("disk-\(index).sas", disk + "\n", mode: 0o600)]
        case .host:
            env["SNAPORCH_WIRESERVER"] = "127.0.0.1:\(endpointPort)"
        }
        let start = Date()
        let r = try await runCLI(args, env: env, timeout: 25)
        let seconds = Date().timeIntervalSince(start)
        guard case .exited = r.status else {
            // Recorded, and the next cycles still run: the hang rate is a figure of its own.
            Issue.record("cycle \(index) (\(provider)) hung: \(r.status) after \(seconds) s")
            return Cycle(seconds: seconds, snapshotMs: -1, hung: true)
        }
        #expect(r.code == 1, "cycle \(index) (\(provider)): exit \(r.code): \(r.stderr.suffix(300))")
        #expect(seconds < Self.freezeTimeout + Self.slack, "cycle \(index) (\(provider)) took \(seconds) s")
        // The mount is writable again.
        #expect(await writeCompletes(in: m.mountPoint, within: 2), "cycle \(index): the mount is still frozen")
        // The post step ran, for this run.
        let report = try ReportStore(paths: Paths(root: tree.root)).load(reportFile)
        #expect(tree.read("post.log")?.contains("post \(report.runId)") == true, "cycle \(index): post did not run")
        #expect(!report.snapshot.taken && report.consistency == .none)
        let snapshotStep = report.timeline.first { $0.step == .snapshot }
        let snapshotMs = snapshotStep.map { $0.endMs - $0.startMs } ?? -1
        #expect(snapshotStep != nil, "cycle \(index): the snapshot step did not run inside the window")
        #expect(snapshotMs <= Int(Self.freezeTimeout * 1000) + 300, "cycle \(index): snapshot took \(snapshotMs) ms")
        // The run lock was released: nobody holds it now.
        #expect(runLockIsFree(tree), "cycle \(index): the run lock is still held")
        // The status blob holds this run's report; no secret anywhere.
        let (data, _) = try await URLSession.shared.data(from: URL(string: statusURI)!)
        let uploaded = try JSONDecoder().decode(RunReport.self, from: data)
        #expect(uploaded.runId == report.runId)
        let local = tree.read("var/lib/snaporch/last-report.json") ?? ""
        let places = [
            "stdout": r.stdout, "stderr": r.stderr, "report": local, "status": String(decoding: data, as: UTF8.self),
        ]
        for (place, text) in places.sorted(by: { $0.key < $1.key }) {
            let leaked = ["HangSecret", "TopSecret1", "hunter22", "pw3cret"].filter { text.contains($0) }
            #expect(leaked.isEmpty, "cycle \(index) (\(provider)): \(leaked) leaked into the \(place)")
        }
        return Cycle(seconds: seconds, snapshotMs: snapshotMs)
    }

    /// Runs `cycles` runs against a `stall_server.py --mode mode` for each provider.
    func runCycles(mode: String, cycles: Int, snapshotTimeouts: [String]) async throws -> [Cycle] {
        var figures: [Cycle] = []
        try await withFreezeFixture { fx in
            let m = try await fx.loop()
            try await withBlobEmulator { status in
                let server = try await BlobEmulator.start(script: "stall_server.py", arguments: ["--mode", mode])
                defer { server.stop() }
                for i in 0..<cycles {
                    for provider in Provider.allCases {
                        figures.append(
                            try await cycle(
                                fx, m, provider: provider, endpointPort: server.port, status: status,
                                snapshotTimeout: snapshotTimeouts[i % snapshotTimeouts.count], index: i))
                    }
                }
                let hits = (try? String(contentsOfFile: server.outputFile, encoding: .utf8)) ?? ""
                #expect(!hits.contains("TARGET-HIT"), "a redirect was followed: \(hits)")
            }
        }
        let worst = figures.map(\.seconds).max() ?? 0
        let snap = figures.map(\.snapshotMs).max() ?? 0
        let hung = figures.filter(\.hung).count
        print(
            "HTTP hang (\(mode)): \(figures.count) runs, \(hung) hung, longest run \(worst) s, "
                + "longest snapshot step \(snap) ms")
        return figures
    }

    /// The core case, ≥ 30 cycles: the endpoint accepts and never answers. The snapshot timeout is
    /// either shorter than the freeze deadline or longer (then the freeze deadline cuts the call).
    @Test func anEndpointThatNeverAnswersNeverHangsARun() async throws {
        let figures = try await runCycles(mode: "never", cycles: 16, snapshotTimeouts: ["1s", "10s"])
        #expect(figures.count == 32)
    }

    @Test(arguments: ["headers", "huge", "redirect"])
    func aMisbehavingEndpointNeverHangsARun(_ mode: String) async throws {
        let figures = try await runCycles(mode: mode, cycles: 2, snapshotTimeouts: ["10s", "1s"])
        #expect(figures.count == 4)
    }
}
