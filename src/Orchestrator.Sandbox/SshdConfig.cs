using System.Globalization;
using System.Net;
using System.Text;

namespace Orchestrator.Sandbox;

/// <summary>
/// What differs between machines' sshd configs. Paths are as sshd sees them (inside the sandbox
/// with bubblewrap); a null <c>AuthorizedKeysFile</c> means <c>~/.ssh/authorized_keys</c> of the user
/// logging in, a null <c>ForceCommand</c> runs commands as sshd normally does; <c>Environment</c>
/// is set in every session.
/// </summary>
internal sealed record SshdSettings(
    string MachineId,
    IPAddress Address,
    int Port,
    string HostKeyPath,
    string? AuthorizedKeysFile,
    string? ForceCommand,
    string SftpSubsystem,
    IReadOnlyList<KeyValuePair<string, string>> Environment,
    bool DisablePerSourcePenalties);

/// <summary>Writes sshd_config files and checks that values can be written into one.</summary>
internal static class SshdConfig
{
    public static string Build(SshdSettings settings)
    {
        var config = new StringBuilder();
        void Line(string text) => config.Append(text).Append('\n');

        Line($"# Written by Orchestrator.Sandbox for machine {settings.MachineId}; rewritten at every start.");
        Line($"ListenAddress {settings.Address}");
        Line(string.Create(CultureInfo.InvariantCulture, $"Port {settings.Port}"));
        Line($"HostKey {Quote(settings.HostKeyPath)}");
        Line("PidFile none");
        if (settings.AuthorizedKeysFile is { } authorizedKeys)
        {
            // AuthorizedKeysFile expands %-tokens; a literal % must be doubled.
            Line($"AuthorizedKeysFile {Quote(authorizedKeys.Replace("%", "%%", StringComparison.Ordinal))}");
        }

        Line("UsePAM no");
        Line("PasswordAuthentication no");
        Line("KbdInteractiveAuthentication no");
        Line("PubkeyAuthentication yes");
        Line("PermitRootLogin prohibit-password");
        Line("StrictModes yes");
        // The default 10:30:100 randomly drops connections that a burst of clients opens at once.
        Line("MaxStartups 100");
        Line("MaxSessions 64");
        Line("PrintMotd no");
        Line("PrintLastLog no");
        Line("UseDNS no");
        Line($"Subsystem sftp {settings.SftpSubsystem}");
        if (settings.ForceCommand is { } forceCommand)
        {
            Line($"ForceCommand {forceCommand}");
        }

        if (settings.DisablePerSourcePenalties)
        {
            // OpenSSH 9.8+ would lock a client address out for a while after probes and failed logins.
            Line("PerSourcePenalties no");
        }

        if (settings.Environment.Count > 0)
        {
            // One line: sshd keeps only the first SetEnv line it reads. SetEnv beats the
            // defaults, the client's variables and ~/.ssh/environment, for every session kind
            // (shell, exec, subsystem), with or without a login shell.
            config.Append("SetEnv");
            foreach (var (name, value) in settings.Environment)
            {
                config.Append(' ').Append(QuoteSetEnv(name, value));
            }

            config.Append('\n');
        }

        return config.ToString();
    }

    /// <summary>
    /// Throws unless every variable can travel through sshd's <c>SetEnv</c>: sshd splits name
    /// from value at the first '=' and reads the config line by line. Names that no shell could
    /// expand (FOO-BAR) still reach programs, as on Fly, so they are allowed.
    /// </summary>
    public static void ValidateEnvironment(IReadOnlyDictionary<string, string> environment, string parameterName)
    {
        foreach (var (name, value) in environment)
        {
            if (string.IsNullOrEmpty(name) || name.AsSpan().ContainsAny("=\r\n\0"))
            {
                throw new ArgumentException($"Environment variable name '{name}' cannot be passed to a machine: it is empty or holds '=', a line break or NUL.", parameterName);
            }

            if (value is null || value.AsSpan().ContainsAny("\r\n\0"))
            {
                throw new ArgumentException($"Environment variable {name}: sshd cannot pass a value that is null or holds a line break or NUL.", parameterName);
            }
        }
    }

    /// <summary>Double-quotes a path for sshd_config, which has no escape for a double quote in paths.</summary>
    public static string Quote(string path) =>
        path.AsSpan().IndexOfAny('"', '\n', '\r') >= 0
            ? throw new ArgumentException($"sshd_config cannot hold a path containing a double quote or a line break: {path}", nameof(path))
            : $"\"{path}\"";

    private static string QuoteSetEnv(string name, string value)
    {
        // sshd splits the line like a shell word list: inside double quotes, \\ and \" are the escapes.
        var escaped = (name + "=" + value).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        return $"\"{escaped}\"";
    }
}
