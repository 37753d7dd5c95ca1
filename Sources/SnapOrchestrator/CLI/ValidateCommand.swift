import Foundation

/// `snaporch validate [--config F] [--json]`.
struct ValidateCommand {
    let console: Console
    let paths: Paths

    func run(_ argv: [String]) throws(UsageError) -> Int32 {
        let args = try CommandSpec(flags: ["--json"], options: ["--config"]).parse(argv)
        let path = args.value("--config") ?? paths.defaultConfig
        var validator = Validator()
        validator.paths = paths
        let (report, _) = validator.validate(configAt: path)
        if args.has("--json") {
            console.out(JSONOutput.encode(report) + "\n")
        } else {
            for diagnostic in report.diagnostics {
                console.err(diagnostic.rendered + "\n")
            }
            let errors = report.diagnostics.filter { $0.severity == .error }.count
            let warnings = report.diagnostics.filter { $0.severity == .warning }.count
            if report.valid {
                let list = report.plugins.isEmpty ? "no plugins" : "plugins: " + report.plugins.joined(separator: ", ")
                console.out("\(path): valid (\(list); \(warnings) warning(s))\n")
            } else {
                console.out("\(path): invalid: \(errors) error(s), \(warnings) warning(s)\n")
            }
        }
        return report.valid ? ExitCode.ok : ExitCode.failed
    }
}

/// Stable, pretty JSON for everything the CLI prints or stores.
public enum JSONOutput {
    /// Encodes `value` with sorted keys and no escaped slashes.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = true) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
