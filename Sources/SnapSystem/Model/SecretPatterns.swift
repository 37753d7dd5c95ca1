/// The shapes of secrets in free text (script output, server error bodies, command lines) that
/// `Redactor` masks: each pattern's first group is kept, its second (the secret) becomes `***`.
enum SecretPatterns {
    /// Words that name a secret when they end a key: `PGPASSWORD`, `MYSQL_PWD`, `db.password`,
    /// `client_secret`, `api-key`, `accountKey`, `passphrase`; and `pass` as a whole word or after
    /// a separator (`--pass`, `DB_PASS`, not `bypass`).
    static let secretName =
        #"(?:[A-Za-z0-9_.\-]*(?:password|passwd|passphrase|pwd|secret|token|accountkey|api[_\-]?key|access[_\-]?key|private[_\-]?key)|(?:[A-Za-z0-9_.\-]*[_.\-])?pass)"#

    /// A quoted or bare value.
    static let value = #"("[^"\n]*"|'[^'\n]*'|[^\s,;&}"']+)"#

    /// The patterns, applied in order.
    static let all: [String] = [
        // `password: X`, `PGPASSWORD=X`, `"db_password": "X"`, `--password=X`, `token = X`; not the
        // MySQL server's `(using password: YES)`, which says whether one was given.
        #"(?i)(\b"# + secretName + #"["']?[ \t]*[:=][ \t]*)(?!(?:YES|NO)\))"# + value,
        // `--password X`, `--token X` (a separate argument).
        #"(?i)(--(?:password|passwd|pass|token|secret)[ \t]+)"# + value,
        // SQL: `IDENTIFIED BY 'X'`, `IDENTIFIED WITH plugin BY 'X'`, `IDENTIFIED BY PASSWORD 'X'`.
        #"(?i)(\bidentified(?:[ \t]+with[ \t]+\S+)?[ \t]+by[ \t]+(?:password[ \t]+)?)"# + value,
        // SQL: `PASSWORD 'X'`, `PASSWORD('X')`, `ENCRYPTED PASSWORD 'X'`.
        #"(?i)(\bpassword[ \t]*\(?[ \t]*)("[^"\n]*"|'[^'\n]*')"#,
        // HTTP credentials: `Bearer X`, `Authorization: Basic X`.
        #"(?i)(\bbearer[ \t]+)([A-Za-z0-9._~+/=\-]+)"#,
        #"(?i)(\bauthorization:[ \t]*(?:basic|sharedkey|sharedkeylite)[ \t]+)(\S+)"#,
        // Credentials in a URL: `postgresql://user:X@host/db`, `mysql://root:X@h`.
        #"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s/:@'"]*:)([^\s/@'"]+)(?=@)"#,
        // A client echoing an option-file line it does not know: `unknown variable 'pasword=X'`.
        #"(?i)(\bunknown (?:variable|option) '[^'=\n]*=)([^'\n]*)"#,
        // A SAS signature, also percent-encoded (`sig%3D…`) as it appears when a URL is quoted in a URL.
        #"(?i)((?:\bsig|%3fsig|%26sig)(?:=|%3d))((?:(?!%26)[^&\s"'<])+)"#,
    ]

    /// The MySQL/MariaDB client's attached password option, `-pX`: masked only in text that names
    /// those clients (elsewhere `-p` is too common: `mkdir -p`, `-print`).
    static let mysqlShortPassword = #"((?:^|[\s"'=])-p)('[^'\n]*'|"[^"\n]*"|[^\s"']+)"#
    /// What marks a text as mentioning a MySQL/MariaDB client.
    static let mysqlClient = #"(?i)\b(?:mysql|mariadb)"#

    /// Words of which every pattern needs one (lowercased): `secretName`'s words, the long
    /// options, `identified`, `bearer`, `authorization`, `://`, `unknown`, `sig`, and the MySQL
    /// client names.
    static let keywords = [
        "pass", "pwd", "secret", "token", "key", "identified", "bearer", "authorization", "://", "unknown", "sig",
        "mysql", "mariadb",
    ]

    /// False when no pattern can match `text` (none of `keywords` occurs in it): most texts — a
    /// step's empty or plain output, its messages — then skip the regular expressions entirely.
    static func mayMatch(_ text: String) -> Bool {
        let lower = text.lowercased()
        return keywords.contains { lower.contains($0) }
    }

    /// The patterns compiled once per process: compiling one costs about a third of a millisecond,
    /// and every step redacts several texts (its output tails, its messages); compiling them per call
    /// cost ~5 ms a step (`make bench`: orchestration overhead per step 5.6 ms against a 2 ms target).
    static let compiled = Compiled()

    /// The compiled forms of `all`, `mysqlClient` and `mysqlShortPassword`.
    struct Compiled: @unchecked Sendable {
        // Unchecked: a `Regex` is an immutable value once built; matching does not mutate it.
        let all: [Regex<AnyRegexOutput>]
        let mysqlClient: Regex<AnyRegexOutput>?
        let mysqlShortPassword: Regex<AnyRegexOutput>?
        /// The patterns that failed to compile (none: `RedactorTests` checks it).
        let invalid: [String]

        init() {
            var compiled: [Regex<AnyRegexOutput>] = []
            var invalid: [String] = []
            for pattern in SecretPatterns.all {
                if let regex = try? Regex(pattern) { compiled.append(regex) } else { invalid.append(pattern) }
            }
            all = compiled
            mysqlClient = try? Regex(SecretPatterns.mysqlClient)
            mysqlShortPassword = try? Regex(SecretPatterns.mysqlShortPassword)
            if mysqlClient == nil { invalid.append(SecretPatterns.mysqlClient) }
            if mysqlShortPassword == nil { invalid.append(SecretPatterns.mysqlShortPassword) }
            self.invalid = invalid
        }
    }
}
