import Foundation
import SnapCore
import SnapSystem

/// Parsed command-line arguments of one subcommand: flags, options (possibly repeated) and operands.
package struct Arguments: Sendable {
    /// Flags that were given (`--json`).
    package var flags: Set<String> = []
    /// Option values in order (`--mount A --mount B`).
    package var options: [String: [String]] = [:]
    /// Positional operands.
    package var operands: [String] = []

    /// The last value of an option.
    package func value(_ name: String) -> String? { options[name]?.last }

    /// Whether a flag was given.
    package func has(_ flag: String) -> Bool { flags.contains(flag) }
}

/// A usage error: unknown flag, missing value, wrong operand count. Exit code 2.
package struct UsageError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    package var message: String
    /// Creates a usage error.
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// The accepted spelling of one subcommand.
package struct CommandSpec: Sendable {
    /// Flags without a value.
    package var flags: [String]
    /// Options taking a value.
    package var options: [String]
    /// Range of positional operands.
    package var operands: ClosedRange<Int>
    /// The options that may be given more than once (`--mount A --mount B`); any other given twice
    /// is an error rather than a silent choice of one of the two.
    package var repeatable: Set<String>

    /// Creates a spec.
    package init(
        flags: [String] = [], options: [String] = [], operands: ClosedRange<Int> = 0...0, repeatable: Set<String> = []
    ) {
        self.flags = flags
        self.options = options
        self.operands = operands
        self.repeatable = repeatable
    }

    /// Parses `argv` (after the subcommand name).
    package func parse(_ argv: [String]) throws(UsageError) -> Arguments {
        var result = Arguments()
        var index = 0
        var onlyOperands = false
        while index < argv.count {
            let arg = argv[index]
            index += 1
            if onlyOperands || !arg.hasPrefix("-") || arg == "-" {
                result.operands.append(arg)
                continue
            }
            if arg == "--" {
                onlyOperands = true
                continue
            }
            var name = arg
            var inline: String?
            if let eq = arg.firstIndex(of: "="), arg.hasPrefix("--") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            if flags.contains(name) {
                if inline != nil { throw UsageError("\(name) takes no value") }
                result.flags.insert(name)
            } else if options.contains(name) {
                let value: String
                if let inline {
                    value = inline
                } else {
                    guard index < argv.count else { throw UsageError("\(name) needs a value") }
                    value = argv[index]
                    index += 1
                }
                if result.options[name] != nil, !repeatable.contains(name) {
                    throw UsageError("\(name) given more than once; it takes one value")
                }
                result.options[name, default: []].append(value)
            } else {
                var message = "unknown option '\(name)'"
                if let guess = Spelling.closest(to: name, in: flags + options) {
                    message += "; did you mean '\(guess)'?"
                }
                throw UsageError(message)
            }
        }
        if !operands.contains(result.operands.count) {
            if operands.upperBound == 0 {
                throw UsageError("unexpected argument '\(result.operands[0])'")
            }
            throw UsageError(
                "expected \(operands.lowerBound == operands.upperBound ? "\(operands.lowerBound)" : "\(operands.lowerBound) to \(operands.upperBound)") argument(s), got \(result.operands.count)"
            )
        }
        return result
    }
}
