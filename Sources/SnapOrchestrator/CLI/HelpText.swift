/// Usage texts of every command, with examples.
public enum HelpText {
    /// The overview printed by `snaporch help` and on usage errors.
    public static let overview = """
        snaporch — application-consistent disk snapshots for Linux VMs

        Usage: snaporch <command> [options]

        Commands:
          validate   check the config, its scripts, permissions and mounts
          run        run one snapshot cycle (or --dry-run / a rehearsal)
          thaw       emergency thaw of frozen filesystems
          recover    after a crash: thaw, run owed post steps
          report     render a stored run report
          history    recent runs and step duration trends
          handler    Azure VM extension handler entry points
          version    print the version
          help       this text, or `snaporch help <command>`

        Files: /etc/azure/prepost/prepost.yaml (resolved under $SNAPORCH_ROOT when set)
        """

    /// Per-command help.
    public static func forCommand(_ name: String) -> String? {
        switch name {
        case "validate":
            return """
                Usage: snaporch validate [--config FILE] [--json] [--emit-yaml]

                Checks the YAML config (schema, unknown keys, durations), every script (exists,
                executable, interpreter, ownership and permissions along the whole path), the
                drop-ins of scripts_dir, the listed mounts and plugin prerequisites.

                  --config FILE   config to check (default /etc/azure/prepost/prepost.yaml)
                  --json          print the findings as JSON on stdout
                  --emit-yaml     print the config as prepost.yaml (e.g. converted from the legacy files)

                Exit: 0 valid (warnings allowed), 1 invalid, 2 usage error.
                Example: snaporch validate --config ./prepost.yaml
                """
        case "run":
            return """
                Usage: snaporch run [--config FILE] [--dry-run] [--no-freeze] [--no-snapshot]
                                    [--mount M]... [--disk URI]... [--settings FILE]
                                    [--report FILE] [--json]

                Runs one cycle: pre steps, freeze, snapshot, thaw, post steps (reverse order).

                  --dry-run       print the numbered plan; run nothing
                  --no-freeze     do not freeze filesystems (rehearsal)
                  --no-snapshot   do not snapshot disks (rehearsal)
                  --mount M       freeze exactly these mount points (repeatable)
                  --disk URI      blob SAS URI to snapshot (repeatable); --disk @FILE reads them from a
                                  root-owned 0600 file, keeping the SAS out of `ps` (also --status-blob @FILE)
                  --settings F    Azure handler settings file as the source of task and disks
                  --report FILE   write the run report JSON there
                  --json          print the run report JSON on stdout

                Exit: 0 success, 3 snapshot taken but consistency degraded, 1 failed, 2 usage/config error.
                Examples: snaporch run --dry-run
                          snaporch run --no-freeze --no-snapshot      # rehearse the scripts
                """
        case "thaw":
            return """
                Usage: snaporch thaw [--all] [MOUNT...]

                Emergency thaw: FITHAW each given mount (or, with --all, every freezable mount)
                until the kernel says it is not frozen, and report what was thawed.
                Example: snaporch thaw /data
                """
        case "recover":
            return """
                Usage: snaporch recover [--config FILE]

                After a crash: thaw what the journal says may be frozen, run the post steps owed
                to plugins whose pre started, and record that it did.
                """
        case "report":
            return "Usage: snaporch report [FILE] [--svg OUT]\n\nRender a stored run report (default: the last run).\n"
        case "history":
            return "Usage: snaporch history\n\nRecent runs and per-plugin duration trends.\n"
        case "handler":
            return """
                Usage: snaporch handler install|enable|disable|uninstall|update|daemon

                The Azure VM extension handler entry points; run from the extension directory
                (the one holding HandlerEnvironment.json). enable writes the transitioning status
                and starts the daemon; daemon runs the backup and writes the terminal status.
                """
        case "version":
            return "Usage: snaporch version\n"
        case "help":
            return "Usage: snaporch help [COMMAND]\n"
        default:
            return nil
        }
    }
}
