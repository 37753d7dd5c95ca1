import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// Seeded, reproducible mutation fuzzing of every parser that reads outside input. A crash fails
/// the whole test run; each rejection must come with a non-empty, positioned-where-possible error.
@Suite struct FuzzTests {
    /// SplitMix64: small, fast, reproducible.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    }

    static let tokens: [[UInt8]] = [
        "\n", ": ", "- ", "[", "]", "{", "}", "&a ", "*a", "'", "\"", "\t", "#", "---", "...", "|\n  ", ">\n  ", "yes",
        "~", "!!str ", "\\", "%", "@", "`", "\u{0}", "\u{FEFF}", "é", "30s", "-1", "9999999999999999999", "plugins:",
        "freeze:", "name:", "{\"", "\":", "null", "true", "[]", "\\040", " - ", "=",
    ].map { Array($0.utf8) }

    /// One mutation of `seed`: flips, insertions of interesting tokens, deletions, duplications, splices.
    static func mutate(_ seed: [UInt8], _ rng: inout Random, corpus: [[UInt8]]) -> [UInt8] {
        var bytes = seed
        for _ in 0...rng.below(4) {
            let at = rng.below(bytes.count + 1)
            switch rng.below(6) {
            case 0 where !bytes.isEmpty: bytes[min(at, bytes.count - 1)] ^= UInt8(1 << rng.below(8))
            case 1: bytes.insert(contentsOf: tokens[rng.below(tokens.count)], at: at)
            case 2 where !bytes.isEmpty:
                let n = min(rng.below(16) + 1, bytes.count - min(at, bytes.count - 1))
                bytes.removeSubrange(min(at, bytes.count - 1)..<min(at, bytes.count - 1) + n)
            case 3 where !bytes.isEmpty:
                let start = rng.below(bytes.count), n = min(rng.below(32) + 1, bytes.count - start)
                bytes.insert(contentsOf: bytes[start..<start + n], at: at)
            case 4:
                let other = corpus[rng.below(corpus.count)]
                if !other.isEmpty { bytes.insert(contentsOf: other[rng.below(other.count)...].prefix(40), at: at) }
            default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
            }
        }
        return Array(bytes.prefix(64 * 1024))
    }

    static func run(seeds: [String], iterations: Int, seed: UInt64, _ body: ([UInt8]) -> Void) {
        var rng = Random(state: seed)
        let corpus = seeds.map { Array($0.utf8) }
        for i in 0..<iterations {
            body(mutate(corpus[i % corpus.count], &rng, corpus: corpus))
        }
    }

    static let yamlSeeds = [
        "version: 1\nfreeze:\n  enabled: true\n  timeout: 30s\n  mounts: [/data]\n  exclude: [\"/mnt/*\"]\nsnapshot:\n  provider: blob\n  timeout: 20s\nplugins:\n  - name: app\n    pre: /a\n    post: /b\n    args: [x]\n    retries: 1\n    on_failure: abort\nscripts_dir: /d\n",
        "version: 1\nplugins:\n  - &p {name: a, type: mysql, defaults_file: /x}\n  - {name: b, type: postgres, mode: backup, port: \"5432\"}\n",
        "version: 1\nsnapshot: {provider: command, command: [/sbin/lvcreate, -s]}\n",
    ]

    @Test func yamlConfigDecoder() {
        var rejected = 0
        Self.run(seeds: Self.yamlSeeds, iterations: 5000, seed: 1) { bytes in
            let (config, diagnostics) = ConfigDecoder(file: "fuzz.yaml").decode(bytes)
            if config == nil {
                rejected += 1
                #expect(
                    !diagnostics.isEmpty && diagnostics.allSatisfy { !$0.message.isEmpty && $0.file == "fuzz.yaml" })
            }
        }
        #expect(rejected > 1000, "the mutations barely exercised the error paths (\(rejected) rejections)")
    }

    @Test func legacyIniAndPluginJSON() throws {
        let tree = TestTree("fuzz")
        defer { tree.cleanup() }
        let ini =
            "[pre_post]\ntimeoutInSeconds: 1800\nnumberOfPlugins: 1\npluginName0: ScriptRunner\npluginConfigPath0: /etc/azure/p.json\n"
        let json =
            "{\"pluginName\": \"app\", \"preScriptLocation\": \"/a\", \"postScriptLocation\": \"/b\", \"timeoutInSeconds\": 30, \"continueBackupOnFailure\": true}"
        let vmbackup = "[SnapshotThread]\ntimeout = 60\nMountsToSkip = /a, /b*\nSnapshotMethod = onlyHost\n"
        var rng = Random(state: 2)
        for i in 0..<1500 {
            let corpus = [ini, json, vmbackup].map { Array($0.utf8) }
            tree.write(
                "etc/azure/VMSnapshotPluginHost.conf",
                String(decoding: Self.mutate(corpus[0], &rng, corpus: corpus), as: UTF8.self), mode: 0o644)
            tree.write(
                "etc/azure/p.json", String(decoding: Self.mutate(corpus[1], &rng, corpus: corpus), as: UTF8.self),
                mode: 0o600)
            tree.write(
                "etc/azure/vmbackup.conf", String(decoding: Self.mutate(corpus[2], &rng, corpus: corpus), as: UTF8.self)
            )
            let (config, diagnostics) = LegacyConfig(paths: Paths(root: tree.root)).load()
            #expect(diagnostics.allSatisfy { !$0.message.isEmpty }, "case \(i)")
            #expect(config.plugins.count <= 32)
        }
    }

    @Test func handlerSettingsObjectStrAndEnvironment() {
        let object =
            (try? JSONSerialization.data(withJSONObject: [
                "backupMetadata": [["Key": "a", "Value": "b"]],
                "includedDisks": ["dataDiskLunList": [0, 1], "isOSDiskIncluded": true],
            ]))!.base64EncodedString()
        let publicSeeds = [
            "{\"commandToExecute\": \"snapshot\", \"taskId\": \"t\", \"commandStartTimeUTCTicks\": \"638526000000000000\", \"vmType\": \"microsoft.compute/virtualmachines\", \"objectStr\": \"\(object)\", \"customSettings\": \"{\\\"takeSnapshotFrom\\\": \\\"onlyGuest\\\"}\"}"
        ]
        var accepted = 0
        Self.run(seeds: publicSeeds, iterations: 4000, seed: 3) { bytes in
            do throws(HandlerError) {
                _ = try BackupParameters.parse(
                    publicJSON: Data(bytes), protectedJSON: Data("{\"objectStr\": \"e30=\"}".utf8))
                accepted += 1
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
        #expect(accepted > 0)
        let envSeed =
            "[{\"name\": \"X\", \"version\": 1.0, \"handlerEnvironment\": {\"logFolder\": \"/l\", \"configFolder\": \"/c\", \"statusFolder\": \"/s\"}}]"
        Self.run(seeds: [envSeed], iterations: 3000, seed: 4) { bytes in
            do throws(HandlerError) {
                _ = try HandlerEnvironment.parse(Data(bytes), file: "HandlerEnvironment.json")
            } catch {
                #expect(error.message.hasPrefix("HandlerEnvironment.json"))
            }
        }
    }

    @Test func mountinfoLines() {
        let seeds = [
            "42 27 7:0 / /tmp/m rw,relatime shared:1 - ext4 /dev/loop0 rw",
            "43 27 0:39 / /tmp/mnt\\040space rw,relatime - tmpfs tmpfs rw,size=1024k",
        ]
        Self.run(seeds: seeds, iterations: 5000, seed: 5) { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            let (entries, errors) = MountInfoParser.parse(text)
            #expect(entries.count + errors.count <= text.split(separator: "\n").count)
            _ = MountSelector(explicit: [], exclude: ["/mnt/*"]).select(from: entries)
        }
    }

    @Test func blobAndHostResponses() {
        let seeds = [
            "{\"snapshotInfo\": [{\"isSuccessful\": \"true\", \"snapshotUri\": \"https://a/b?snapshot=1\", \"errorMessage\": \"\", \"statusCode\": 200}, {\"isSuccessful\": false}]}",
            "<?xml version=\"1.0\"?><Error><Code>SnapshotOperationRateExceeded</Code><Message>The rate of snapshot blob calls is exceeded.</Message></Error>",
            "{\"disk\": \"lv0\", \"snapshot\": \"s1\", \"ok\": true}\n{\"disk\": \"lv1\", \"ok\": false, \"error\": \"x\"}\n",
        ]
        Self.run(seeds: seeds, iterations: 5000, seed: 6) { bytes in
            let disks = HostSnapshotProvider.Prepared.parse(Data(bytes))
            #expect(disks.allSatisfy { !$0.blob.contains("sig=") })
            _ = BlobErrorClassifier.azureCode(headers: [:], body: String(decoding: bytes, as: UTF8.self))
            _ = BlobErrorClassifier.code(forBody: String(decoding: bytes, as: UTF8.self))
            _ = CommandSnapshotProvider.Prepared.parseLines(bytes)
        }
    }
}
