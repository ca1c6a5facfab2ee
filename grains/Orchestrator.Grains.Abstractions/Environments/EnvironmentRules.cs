using System.Text.RegularExpressions;

namespace Orchestrator.Grains.Environments;

/// <summary>What an environment's fields and git's arguments may be; each method returns null when the value is fine, else what is wrong.</summary>
public static partial class EnvironmentRules
{
    public const int MaxRepoUrlLength = 2048;
    public const int MaxBranchLength = 255;
    public const int MaxMessageBytes = 64 * 1024;
    public const int MaxPaths = 1000;
    public const int MaxPathLength = 4096;
    public const int MaxLogLimit = 1000;
    public const int DefaultLogLimit = 50;
    public const int MaxSetupCommandLength = 32 * 1024;

    /// <summary>Where checkouts live on the machine; a volume, when there is one, is mounted here.</summary>
    public const string WorkspaceRoot = "/workspace";

    public static string CheckoutPath(string name) => $"{WorkspaceRoot}/{name}";

    public static string? ValidateName(string? name) =>
        name is not null && Name().IsMatch(name)
            ? null
            : "must be 1 to 63 characters: letters, digits, '.', '_' and '-', starting with a letter or digit (it names the directory /workspace/{name})";

    /// <summary>https, http, ssh and git URLs (and <c>user@host:path</c>); never with a password in them: that goes in a secret.</summary>
    public static string? ValidateRepoUrl(string? url)
    {
        if (string.IsNullOrEmpty(url) || url.Length > MaxRepoUrlLength || url.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)) || url.StartsWith('-'))
        {
            return $"must be a git URL of at most {MaxRepoUrlLength} characters without spaces, such as https://github.com/owner/repo.git";
        }

        if (ScpLike().IsMatch(url))
        {
            return null;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http" or "ssh" or "git") || uri.Host.Length == 0)
        {
            return "must be an https://, http://, ssh:// or git:// URL (or user@host:path), such as https://github.com/owner/repo.git";
        }

        return uri.UserInfo.Contains(':', StringComparison.Ordinal)
            ? "must not carry a password; put the token in a tenant secret and name it in git_credentials_secret"
            : null;
    }

    /// <summary>A branch name git accepts (<c>git check-ref-format --branch</c>), kept to the characters that need no quoting.</summary>
    public static string? ValidateBranch(string? branch)
    {
        if (branch is null || branch.Length is 0 or > MaxBranchLength || !Branch().IsMatch(branch)
            || branch.Contains("..", StringComparison.Ordinal) || branch.Contains("//", StringComparison.Ordinal) || branch.Contains("@{", StringComparison.Ordinal)
            || branch.EndsWith('/') || branch.EndsWith('.') || branch.EndsWith(".lock", StringComparison.Ordinal)
            || branch.Split('/').Any(part => part.StartsWith('.')) || branch == "HEAD")
        {
            return $"must be a branch name: 1 to {MaxBranchLength} letters, digits and '/', '.', '_', '-', not starting with '-' or '.', without '..', '//', '@{{' or a trailing '/', '.' or '.lock'";
        }

        return null;
    }

    public static string? ValidateRemote(string? remote) =>
        remote is not null && Remote().IsMatch(remote) ? null : "must be a remote's name: 1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit";

    public static string? ValidateMessage(string? message)
    {
        if (string.IsNullOrWhiteSpace(message))
        {
            return "must be a non-empty commit message";
        }

        return message.Contains('\0', StringComparison.Ordinal) || System.Text.Encoding.UTF8.GetByteCount(message) > MaxMessageBytes
            ? $"must be at most {MaxMessageBytes} bytes of UTF-8 without NUL"
            : null;
    }

    /// <summary>A path inside the checkout: relative, without '..' segments, NUL or a leading '-'.</summary>
    public static string? ValidatePath(string? path) =>
        string.IsNullOrEmpty(path) || path.Length > MaxPathLength || path.StartsWith('/') || path.StartsWith('-') || path.Contains('\0', StringComparison.Ordinal)
            || path.Any(char.IsControl) || path.Split('/').Any(part => part == "..")
            ? $"must be a path relative to the checkout (at most {MaxPathLength} characters, no '..', not starting with '/' or '-')"
            : null;

    public static string? ValidateLimit(int limit) => limit is >= 1 and <= MaxLogLimit ? null : $"must be a whole number from 1 to {MaxLogLimit}";

    public static string? ValidatePerson(GitPerson? person)
    {
        if (person is null)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(person.Name) || person.Name.Length > 256 || person.Name.Any(c => char.IsControl(c) || c is '<' or '>'))
        {
            return "name must be 1 to 256 characters without '<', '>' or control characters";
        }

        return string.IsNullOrWhiteSpace(person.Email) || person.Email.Length > 256 || person.Email.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c is '<' or '>')
            ? "email must be 1 to 256 characters without spaces, '<' or '>'"
            : null;
    }

    public static string? ValidateSetupCommand(string? command) =>
        command is null || (command.Length <= MaxSetupCommandLength && !command.Contains('\0', StringComparison.Ordinal))
            ? null
            : $"must be at most {MaxSetupCommandLength} characters without NUL";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Name();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._/-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Branch();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex Remote();

    [GeneratedRegex("^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/-][^:]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ScpLike();
}
