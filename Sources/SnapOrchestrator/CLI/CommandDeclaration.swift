import Foundation
import SnapCore
import SnapSystem

/// How the shell completes a value: nothing, a file name, a mount point, fixed words, a command.
package enum CompletionKind: Sendable, Hashable {
    case none, file, mount, commands
    case words([String])
}

/// One option of a command, declared once: the parser, `--help`, the bash completion and the
/// README's CLI table are all derived from it.
package struct OptionDeclaration: Sendable, Hashable {
    /// `--name`.
    package var name: String
    /// The value's placeholder (`FILE`), nil for a flag.
    package var value: String?
    /// True when the option may be given more than once.
    package var repeatable: Bool
    /// One line of help (may continue on further lines).
    package var help: String
    /// How its value completes.
    package var completion: CompletionKind

    /// A flag (no value).
    package static func flag(_ name: String, _ help: String) -> OptionDeclaration {
        OptionDeclaration(name: name, value: nil, repeatable: false, help: help, completion: .none)
    }

    /// An option taking a value.
    package static func option(
        _ name: String, _ value: String, _ help: String, repeatable: Bool = false, completion: CompletionKind = .none
    ) -> OptionDeclaration {
        OptionDeclaration(name: name, value: value, repeatable: repeatable, help: help, completion: completion)
    }

    /// `[--name VALUE]...` as the usage line shows it.
    var synopsis: String {
        "[\(name)\(value.map { " \($0)" } ?? "")]\(repeatable ? "..." : "")"
    }
}

/// One subcommand, declared once: options, operands, help text and completion.
package struct CommandDeclaration: Sendable {
    /// The subcommand's name.
    package var name: String
    /// The one-line summary of the overview.
    package var summary: String
    /// The operands as the usage line shows them (`[FILE]`, `install|enable|…`).
    package var operandSynopsis: String = ""
    /// How many operands are accepted.
    package var operands: ClosedRange<Int> = 0...0
    /// How operands complete.
    package var operandCompletion: CompletionKind = .none
    /// The options.
    package var options: [OptionDeclaration] = []
    /// What the command does (a paragraph after the usage line).
    package var description: String = ""
    /// Exit codes and examples, after the option list.
    package var footer: String = ""
    /// Hidden commands (internal entry points) are left out of help, completion and README.
    package var hidden = false

    /// The parser of this command's arguments.
    package var spec: CommandSpec {
        CommandSpec(
            flags: options.filter { $0.value == nil }.map(\.name),
            options: options.filter { $0.value != nil }.map(\.name), operands: operands,
            repeatable: Set(options.filter(\.repeatable).map(\.name)))
    }

    /// `snaporch NAME [--opt X]... OPERANDS`, the same text in `--help` and the README table.
    package var usage: String {
        (["snaporch", name] + options.map(\.synopsis) + (operandSynopsis.isEmpty ? [] : [operandSynopsis]))
            .joined(separator: " ")
    }

    /// The `--help` text.
    package var helpText: String {
        var out = "Usage: " + wrappedUsage + "\n"
        if !description.isEmpty { out += "\n" + description + "\n" }
        if !options.isEmpty {
            out += "\n"
            let labels = options.map { "  " + $0.name + ($0.value.map { " " + $0 } ?? "") }
            let width = (labels.map(\.count).max() ?? 0) + 3
            for (label, option) in zip(labels, options) {
                let help = option.help.split(separator: "\n", omittingEmptySubsequences: false)
                out += label.rightPadded(width) + (help.first.map(String.init) ?? "") + "\n"
                for line in help.dropFirst() { out += String(repeating: " ", count: width) + line + "\n" }
            }
        }
        if !footer.isEmpty { out += "\n" + footer + "\n" }
        return out
    }

    /// The usage line wrapped at 100 columns, continuation lines under the first option.
    var wrappedUsage: String {
        let head = "snaporch \(name) "
        let parts = options.map(\.synopsis) + (operandSynopsis.isEmpty ? [] : [operandSynopsis])
        var lines: [String] = []
        var line = head
        for part in parts {
            if line.count + part.count > 92 && line != head {
                lines.append(String(line.dropLast()))
                line = String(repeating: " ", count: head.count + 7)
            }
            line += part + " "
        }
        lines.append(String(line.dropLast()))
        return lines.joined(separator: "\n")
    }
}
