/// The shapes of secrets in free text (script output, server error bodies, command lines) that
/// `Redactor` masks: each pattern's first group is kept, its second (the secret) becomes `***`.
enum SecretPatterns {
    /// Words that name a secret when they end a key: `PGPASSWORD`, `MYSQL_PWD`, `db.password`,
    /// `client_secret`, `api-key`, `accountKey`.
    static let secretName =
        #"[A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|token|accountkey|api[_\-]?key|access[_\-]?key|private[_\-]?key)"#

    /// A quoted or bare value.
    static let value = #"("[^"\n]*"|'[^'\n]*'|[^\s,;&}"']+)"#

    /// The patterns, applied in order.
    static let all: [String] = [
        // `password: X`, `PGPASSWORD=X`, `"db_password": "X"`, `--password=X`, `token = X`.
        #"(?i)(\b"# + secretName + #"["']?[ \t]*[:=][ \t]*)"# + value,
        // `--password X`, `--token X` (a separate argument).
        #"(?i)(--(?:password|passwd|pass|token|secret)[ \t]+)"# + value,
        // SQL: `IDENTIFIED BY 'X'`, `IDENTIFIED WITH plugin BY 'X'`, `IDENTIFIED BY PASSWORD 'X'`.
        #"(?i)(\bidentified(?:[ \t]+with[ \t]+\S+)?[ \t]+by[ \t]+(?:password[ \t]+)?)"# + value,
        // SQL: `PASSWORD 'X'`, `PASSWORD('X')`, `ENCRYPTED PASSWORD 'X'`.
        #"(?i)(\bpassword[ \t]*\(?[ \t]*)("[^"\n]*"|'[^'\n]*')"#,
        // HTTP credentials: `Bearer X`, `Authorization: Basic X`.
        #"(?i)(\bbearer[ \t]+)([A-Za-z0-9._~+/=\-]+)"#,
        #"(?i)(\bauthorization:[ \t]*(?:basic|sharedkey|sharedkeylite)[ \t]+)(\S+)"#,
        // A SAS signature, also percent-encoded (`sig%3D…`) as it appears when a URL is quoted in a URL.
        #"(?i)((?:\bsig|%3fsig|%26sig)(?:=|%3d))((?:(?!%26)[^&\s"'<])+)"#,
    ]

    /// The MySQL/MariaDB client's attached password option, `-pX`: masked only in text that names
    /// those clients (elsewhere `-p` is too common: `mkdir -p`, `-print`).
    static let mysqlShortPassword = #"((?:^|[\s"'=])-p)('[^'\n]*'|"[^"\n]*"|[^\s"']+)"#
    /// What marks a text as mentioning a MySQL/MariaDB client.
    static let mysqlClient = #"(?i)\b(?:mysql|mariadb)"#
}
