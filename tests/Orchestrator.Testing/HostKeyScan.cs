namespace Orchestrator.Testing;

/// <summary>Asks a running sshd for its host key, as a client sees it before trusting it (<c>ssh-keyscan</c>).</summary>
public static class HostKeyScan
{
    /// <summary>
    /// The server's Ed25519 host key as <c>ssh-ed25519 BASE64</c> (no comment), comparable with the first two
    /// fields of a <c>.pub</c> line.
    /// </summary>
    /// <exception cref="InvalidOperationException">ssh-keyscan got no Ed25519 key from the server.</exception>
    public static async Task<string> Ed25519Async(string host, int port, CancellationToken cancellationToken = default)
    {
        var keyscan = ToolLocator.Find("ssh-keyscan", "/usr/bin/ssh-keyscan")
            ?? throw new InvalidOperationException("ssh-keyscan is missing: install it with `apt-get install openssh-client`.");
        var result = await ToolProcess.RunAsync(
            keyscan, ["-T", "10", "-t", "ed25519", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), host],
            TimeSpan.FromSeconds(30), cancellationToken: cancellationToken);
        // Lines look like "[127.77.0.2]:2222 ssh-ed25519 AAAA..."; comments start with '#'.
        var key = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => !line.StartsWith('#'))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .FirstOrDefault(fields => fields.Length >= 3 && fields[1] == "ssh-ed25519");
        return key is null
            ? throw new InvalidOperationException($"ssh-keyscan got no ssh-ed25519 key from {host}:{port} (exit code {result.ExitCode}): {result.Output.Trim()}")
            : $"{key[1]} {key[2]}";
    }

    /// <summary>The first two fields of a <c>.pub</c> line: <c>ssh-ed25519 BASE64</c>.</summary>
    public static string KeyOf(string publicKeyLine) =>
        string.Join(' ', publicKeyLine.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(2));
}
