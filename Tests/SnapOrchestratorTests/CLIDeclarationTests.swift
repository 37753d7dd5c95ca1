import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// One declaration per CLI option (issue 12, item 8): `--help`, the bash completion and the
/// README's CLI table follow `Commands`, and a test fails on any drift.
@Suite(.timeLimit(.minutes(2)))
struct CLIDeclarationTests {
    /// The repository root (this file is Tests/SnapOrchestratorTests/CLIDeclarationTests.swift).
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func committedCompletionIsTheGeneratedOneAndCompletesEveryOption() async throws {
        let r = try await runCLI(["__completion", "bash"])
        #expect(r.code == 0, "\(r.stderr)")
        let file = Self.repo + "/etc/bash_completion.d/snaporch"
        let committed = try String(contentsOfFile: file, encoding: .utf8)
        #expect(r.stdout == committed, "regenerate it: snaporch __completion bash > etc/bash_completion.d/snaporch")
        for command in Commands.all {
            let words = ["snaporch", command.name, "-"]
            let script =
                "source \(file); COMP_WORDS=(\(words.joined(separator: " "))); COMP_CWORD=2; _snaporch; printf '%s\\n' \"${COMPREPLY[@]}\""
            let out = try await sh("bash -c \(ShellQuote.quote(script))")
            #expect(out.code == 0, "\(out.output)")
            let offered = Set(out.output.split(separator: "\n").map(String.init))
            let declared = Set(command.options.map(\.name))
            #expect(
                declared.isSubset(of: offered), "\(command.name): completion lacks \(declared.subtracting(offered))")
        }
    }

    @Test(arguments: Commands.all.map(\.name))
    func helpListsEveryDeclaredOption(_ name: String) async throws {
        let command = try #require(Commands.named(name))
        let r = try await runCLI([name, "--help"])
        #expect(r.code == 0)
        for option in command.options {
            #expect(
                r.stdout.contains("  \(option.name)\(option.value.map { " \($0)" } ?? "")"),
                "\(name) --help lacks \(option.name)")
            #expect(r.stdout.contains(option.synopsis), "the usage line of \(name) lacks \(option.synopsis)")
        }
    }

    @Test func runHelpNamesTaskIdAndStatusBlob() async throws {
        let r = try await runCLI(["run", "--help"])
        #expect(r.stdout.contains("--task-id ID") && r.stdout.contains("--status-blob URI"))
    }

    @Test func readmeTableListsExactlyTheDeclaredOptions() throws {
        let readme = try String(contentsOfFile: Self.repo + "/README.md", encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "\n## CLI\n").dropFirst().first)
            .components(separatedBy: "\n## ")[0]
        var usages: [String: [String]] = [:]
        for line in section.split(separator: "\n") where line.hasPrefix("| `snaporch ") {
            let cell = line.dropFirst(3).prefix { $0 != "`" }.replacing("\\|", with: "|")
            let name = String(cell.split(separator: " ")[1])
            usages[name, default: []].append(String(cell))
        }
        for command in Commands.all {
            #expect(usages[command.name] == [command.usage], "README row of \(command.name): want `\(command.usage)`")
        }
        #expect(Set(usages.keys) == Set(Commands.all.map(\.name)), "README rows for undeclared commands")
    }

    @Test func everyOptionTheCommandsReadIsDeclared() throws {
        let dir = Self.repo + "/Sources/SnapOrchestrator/CLI"
        let declared = Set(
            (Commands.all + Commands.hidden).flatMap { $0.options.map(\.name) } + ["--help", "--version"])
        let pattern = try Regex("\"(--[a-z][a-z-]*)[\"=]")
        for file in try FileManager.default.contentsOfDirectory(atPath: dir) where file != "Commands.swift" {
            let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
            for match in text.matches(of: pattern) {
                let name = String(text[match.range].dropFirst().dropLast())
                #expect(declared.contains(name), "\(file) reads \(name), which no command declares")
            }
        }
    }
}
