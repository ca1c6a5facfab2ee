using System.Text;

namespace Orchestrator.Grains.Environments;

/// <summary>
/// An https token for git, from a tenant secret holding <c>token</c> or <c>username:token</c>. It reaches the machine
/// only on the command's standard input: the script reads it into a variable of its own shell, and an inline
/// <c>credential.helper</c> hands it to git from there. It is never in command text (which sshd's process list, logs
/// and run records may show), in an environment given on the command line, in git's config or in a file.
/// </summary>
internal sealed record GitCredentials(string Username, string Password)
{
    /// <summary>The username GitHub (and most hosts) accept with a token when the secret names none.</summary>
    public const string DefaultUsername = "x-access-token";

    /// <summary>Null when the secret cannot be a credential (a line break in it would end git's credential protocol).</summary>
    public static GitCredentials? FromSecret(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0 || value.Contains('\n', StringComparison.Ordinal) || value.Contains('\r', StringComparison.Ordinal))
        {
            return null;
        }

        var colon = value.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && colon < value.Length - 1
            ? new GitCredentials(value[..colon], value[(colon + 1)..])
            : new GitCredentials(DefaultUsername, value);
    }

    /// <summary>What the script's first two <c>read</c>s consume.</summary>
    public byte[] Stdin() => Encoding.UTF8.GetBytes($"{Username}\n{Password}\n");

    /// <summary>The values to mask in anything git says back.</summary>
    public IEnumerable<string> Secrets() => [Password, $"{Username}:{Password}"];

    public override string ToString() => $"GitCredentials({Username}, ***)";
}
