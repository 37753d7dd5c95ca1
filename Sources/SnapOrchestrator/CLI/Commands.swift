import Foundation
import SnapCore
import SnapSystem

/// Every subcommand of `snaporch` with its options: the single declaration that the parser,
/// `--help`, `snaporch __completion bash` and the README's CLI table follow.
package enum Commands {
    static let config = OptionDeclaration.option(
        "--config", "FILE", "config file (default /etc/azure/prepost/prepost.yaml)", completion: .file)
    static let json = OptionDeclaration.flag("--json", "print the result as JSON on stdout")

    /// The declarations, in the order of the overview.
    package static let all: [CommandDeclaration] = [
        validate, run, begin, end, thaw, recover, report, history, handler, hook, version, help,
    ]

    /// The declaration named `name` (hidden ones included).
    package static func named(_ name: String) -> CommandDeclaration? {
        (all + hidden).first { $0.name == name }
    }

    /// Internal entry points: never shown, never completed.
    package static let hidden: [CommandDeclaration] = [
        CommandDeclaration(
            name: "__completion", summary: "print the shell completion script", operandSynopsis: "bash",
            operands: 1...1, hidden: true),
        CommandDeclaration(name: "__guard", summary: "the freeze guard process", operands: 0...1000, hidden: true),
        CommandDeclaration(
            name: "__holder", summary: "the detached holder of a split-phase run", operands: 0...1000, hidden: true),
    ]

    static let validate = CommandDeclaration(
        name: "validate", summary: "check the config, its scripts, permissions and mounts",
        options: [
            config, OptionDeclaration.flag("--json", "print the findings as JSON on stdout"),
            .flag("--emit-yaml", "print the config as prepost.yaml (e.g. converted from the legacy files)"),
        ],
        description: """
            Checks the YAML config (schema, unknown keys, durations), every script (exists,
            executable, interpreter, ownership and permissions along the whole path), the
            drop-ins of scripts_dir, the listed mounts and plugin prerequisites.
            """,
        footer: """
            Exit: 0 valid (warnings allowed), 1 invalid, 2 usage error.
            Example: snaporch validate --config ./prepost.yaml
            """)

    static let run = CommandDeclaration(
        name: "run", summary: "run one snapshot cycle (or --dry-run / a rehearsal)",
        options: [
            config,
            .flag("--dry-run", "print the numbered plan; run nothing"),
            .flag("--no-freeze", "do not freeze filesystems (rehearsal)"),
            .flag("--no-snapshot", "do not snapshot disks (rehearsal)"),
            .option(
                "--mount", "M", "freeze exactly these mount points (repeatable)", repeatable: true, completion: .mount),
            .option(
                "--disk", "URI",
                "blob SAS URI to snapshot (repeatable); --disk @FILE reads them from a\nroot-owned 0600 file, keeping the SAS out of `ps`",
                repeatable: true),
            .option(
                "--settings", "FILE",
                "Azure handler settings file (protected settings in clear, root 0600)\nas the source of task id, disks, status blob and snapshot method",
                completion: .file),
            .option("--task-id", "ID", "the backup task id (default: from --settings, else the run id)"),
            .option(
                "--status-blob", "URI",
                "also upload the run report to this blob SAS URI (@FILE: read it from\na root-owned 0600 file)"),
            .option("--report", "FILE", "write the run report JSON there", completion: .file),
            .flag("--json", "print the run report JSON on stdout"),
        ],
        description: "Runs one cycle: pre steps, freeze, snapshot, thaw, post steps (reverse order).",
        footer: """
            Exit: 0 success, 3 snapshot taken but consistency degraded, 1 failed, 2 usage/config error.
            Examples: snaporch run --dry-run
                      snaporch run --no-freeze --no-snapshot      # rehearse the scripts
            """)

    static let begin = CommandDeclaration(
        name: "begin", summary: "split-phase run: quiesce (pre, holds, --freeze) and return",
        options: [
            config,
            .flag("--freeze", "freeze the filesystems too (the platform does not: Google, AWS)"),
            .option(
                "--mount", "M", "freeze exactly these mount points (repeatable; with --freeze)", repeatable: true,
                completion: .mount),
            .option(
                "--lease", "D", "how long to wait for `end` before releasing everything (default split.lease, 60s)"),
            .option("--caller", "NAME", "who calls: qemu-ga, vmware, gce, aws (recorded in the report; default cli)"),
            .flag("--platform-freezes", "the platform freezes the filesystems itself (qemu-ga, VMware Tools)"),
            .option("--task-id", "ID", "the backup task id (default: the run id)"),
            .option("--report", "FILE", "write the final run report there too when the run ends", completion: .file),
            OptionDeclaration.flag("--json", "print the quiesce (or, if the run ended, its report) as JSON"),
        ],
        description: """
            Starts a detached holder that runs the pre steps, takes the holds (and, with --freeze,
            freezes), and returns as soon as the system is quiesced. The holder keeps database
            sessions and the freeze guard alive until `snaporch end`, or until the lease runs out:
            then it releases, thaws and runs the posts itself, and the report says "lease expired".
            One split run at a time; a second begin (or any run) while one holds is refused.
            """,
        footer: """
            Exit: 0 quiesced, 3 quiesced but degraded, 1 failed (nothing held; also: refused),
                  2 usage/config error.
            Example: snaporch begin --caller gce --freeze --lease 2m
            """)

    static let end = CommandDeclaration(
        name: "end", summary: "split-phase run: thaw, release, posts in reverse; the outcome",
        options: [
            .option("--snapshot-failed", "REASON", "the platform's snapshot failed (posts learn no-snapshot)"),
            .option("--caller", "NAME", "who calls (recorded in the holder's log)"),
            .option("--report", "FILE", "write the run report JSON there", completion: .file),
            OptionDeclaration.flag("--json", "print the run report JSON on stdout"),
        ],
        description: """
            Tells the holder of the split run in progress that the platform's snapshot is done,
            waits for the rest of the run (thaw, releases, posts in reverse, report) and prints
            the report as `run` does. Without a split run in progress it does nothing; if the last
            one already ended on its own (lease expired, holder died), it says so with its report.
            """,
        footer: "Exit: as `run`: 0 success, 3 degraded, 1 failed; 0 when there is nothing to end.")

    static let thaw = CommandDeclaration(
        name: "thaw", summary: "emergency thaw of frozen filesystems", operandSynopsis: "[MOUNT...]",
        operands: 0...1000, operandCompletion: .mount,
        options: [.flag("--all", "thaw every freezable mount"), json],
        description: """
            Emergency thaw: FITHAW each given mount (or, with --all, every freezable mount)
            until the kernel says it is not frozen, and report what was thawed.
            """,
        footer: "Example: snaporch thaw /data")

    static let recover = CommandDeclaration(
        name: "recover", summary: "after a crash: thaw, run owed post steps",
        options: [config, json],
        description: """
            After a crash: thaw what the journal says may be frozen, run the post steps owed
            to plugins whose pre started, and record that it did.
            """)

    static let report = CommandDeclaration(
        name: "report", summary: "render a stored run report, or its restore steps", operandSynopsis: "[FILE|RUN]",
        operands: 0...1, operandCompletion: .file,
        options: [
            .option("--svg", "OUT", "also write the timeline as an SVG picture", completion: .file),
            .flag("--restore", "print the restore steps of the run (backup_label, WAL range, binlog position)"),
            .flag("--json", "print the report (with --restore: its restore records) as JSON"),
        ],
        description: """
            Renders a stored run report (default: the last run; FILE, or a run id from the
            history) as a summary and a text timeline. With --restore, prints what a restore of
            that run's snapshot needs, from the report alone: where backup_label goes and its
            exact text, which WAL segments are needed, archive_mode=off on a copy restored next
            to the live system, re-pointing a symlinked pg_wal, the binlog file/position/GTID.
            """,
        footer:
            "Examples: snaporch report --svg /tmp/run.svg\n          snaporch report --restore 20261207T061500123Z-1a2b3c"
    )

    static let history = CommandDeclaration(
        name: "history", summary: "recent runs and step duration trends", options: [json],
        description: "Recent runs and per-plugin duration trends.")

    static let handler = CommandDeclaration(
        name: "handler", summary: "Azure VM extension handler entry points",
        operandSynopsis: "install|enable|disable|uninstall|update|daemon", operands: 1...1,
        operandCompletion: .words(["install", "enable", "disable", "uninstall", "update", "daemon"]),
        description: """
            The Azure VM extension handler entry points; run from the extension directory
            (the one holding HandlerEnvironment.json). enable writes the transitioning status
            and starts the daemon; daemon runs the backup and writes the terminal status.
            """)

    static let hook = CommandDeclaration(
        name: "hook", summary: "platform snapshot hooks (qemu-ga, VMware, Google, AWS) onto begin/end",
        operandSynopsis: "qemu-ga|vmware|gce|aws OPERATION [ARG] | install|uninstall PLATFORM", operands: 1...8,
        operandCompletion: .words(
            [
                "qemu-ga", "vmware", "gce", "aws", "install", "uninstall", "freeze", "freezeFail", "thaw", "pre",
                "post",
                "pre-script", "post-script", "dry-run",
            ]),
        options: [
            config,
            .option(
                "--mount", "M", "gce/aws: freeze exactly these mount points (repeatable)", repeatable: true,
                completion: .mount),
            .option("--lease", "D", "how long the holds may wait for the second call (default: split.lease)"),
            .option(
                "--root", "DIR", "install/uninstall: the tree holding /etc (default /, or $SNAPORCH_ROOT)",
                completion: .file),
            .flag("--force", "install: replace a file that is not a snaporch wrapper"),
            json,
        ],
        description: """
            What each platform's agent calls around its snapshot, mapped onto a split-phase run:
              qemu-ga freeze|thaw           begin (qemu-ga freezes) / end
              vmware freeze|freezeFail|thaw begin (vmtoolsd freezes) / end with the snapshot failed / end
              gce pre|post DISKS            begin freezing the mounts on DISKS (else the configured
                                            selection) / end
              aws pre-script|post-script|dry-run   begin freezing / end / print the plan
            install PLATFORM writes the wrapper the agent runs (qemu-ga: /etc/qemu/fsfreeze-hook.d/
            snaporch, also usable as qemu-ga's hook itself; vmware: /etc/vmware-tools/backupScripts.d/
            snaporch; gce: /etc/google/snapshots/pre.sh and post.sh; aws: prints the SSM document).
            """,
        footer: """
            Exit: 0 quiesced / resumed (also when consistency degraded: see the report), 1 failed and
            nothing is held, 2 usage or configuration error.
            Examples: snaporch hook install vmware
                      snaporch hook gce pre data-disk,logs-disk
            """)

    static let version = CommandDeclaration(name: "version", summary: "print the version")

    static let help = CommandDeclaration(
        name: "help", summary: "this text, or `snaporch help <command>`", operandSynopsis: "[COMMAND]",
        operands: 0...1, operandCompletion: .commands)
}
