using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Environments;

/// <summary>
/// The shell scripts behind each git operation. Values go in shell-quoted; git runs with <c>LC_ALL=C</c> (its messages,
/// which <see cref="GitFailures"/> reads, in English), no terminal prompts, and only the credential helper given here.
/// </summary>
internal static class GitScripts
{
    /// <summary>Exit code of a commit that found nothing to commit.</summary>
    public const int NothingToCommitExit = 3;

    /// <summary>Exit code of a commit refused because paths are still in conflict.</summary>
    public const int UnmergedExit = 4;

    /// <summary>Exit code of a push from a detached HEAD without a branch named.</summary>
    public const int DetachedExit = 5;

    // Reads the username and token from stdin into this shell (never the command line, never a file) and exports them
    // to git only; the helper prints them when git asks ("get") and ignores "store"/"erase", so nothing is saved.
    private const string CredentialPrelude =
        "IFS= read -r ORCH_GIT_USERNAME || exit 90; IFS= read -r ORCH_GIT_PASSWORD || exit 90; export ORCH_GIT_USERNAME ORCH_GIT_PASSWORD\n";

    private const string Helper =
        """-c credential.helper= -c 'credential.helper=!f() { test "$1" = get || return 0; printf "username=%s\npassword=%s\n" "$ORCH_GIT_USERNAME" "$ORCH_GIT_PASSWORD"; }; f'""";

    /// <summary>Environment of every git command.</summary>
    public static IReadOnlyDictionary<string, string> Environment(IReadOnlyDictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["LC_ALL"] = "C",
            ["GIT_TERMINAL_PROMPT"] = "0",
            ["GIT_ASKPASS"] = "",
            ["SSH_ASKPASS"] = "",
            ["GIT_PAGER"] = "cat",
        };
        foreach (var (name, value) in extra ?? new Dictionary<string, string>())
        {
            env[name] = value;
        }

        return env;
    }

    /// <summary>The <c>git</c> of a command that talks to a remote: with the stdin helper when there are credentials, else with none at all.</summary>
    private static string RemoteGit(bool credentials) => credentials ? "git " + Helper : "git -c credential.helper=";

    private static string Prelude(bool credentials) => credentials ? CredentialPrelude : "";

    private static string Q(string value) => ShellQuoting.Quote(value);

    /// <summary>Clones into <paramref name="path"/>, or keeps the checkout a previous attempt made; prints <c>commit=</c> and <c>branch=</c>.</summary>
    public static string Clone(string repoUrl, string? branch, string path, bool credentials) =>
        Prelude(credentials)
        + $"mkdir -p -- {Q(Path.GetDirectoryName(path)!.Replace('\\', '/'))} || exit 1\n"
        + $"if [ ! -d {Q(path + "/.git")} ]; then\n"
        + $"  rm -rf -- {Q(path)}\n"
        + $"  {RemoteGit(credentials)} clone -q {(branch is null ? "" : "--branch " + Q(branch) + " ")}-- {Q(repoUrl)} {Q(path)} || exit $?\n"
        + "fi\n"
        + $"cd -- {Q(path)} || exit 1\n"
        + "echo \"commit=$(git rev-parse -q --verify HEAD)\"\n"
        + "echo \"branch=$(git symbolic-ref --short -q HEAD)\"\n";

    public const string Status = "git status --porcelain=v2 --branch -z";

    public static string Diff(string? path, bool staged) =>
        $"git diff --no-color --no-ext-diff{(staged ? " --cached" : "")}{(path is null ? "" : " -- " + Q(path))}";

    public static string Log(int limit) =>
        $"git rev-parse -q --verify HEAD >/dev/null || exit 0\ngit log -n {limit} --no-color --format={Q(GitLogParser.Format)} HEAD";

    /// <summary>Stages (the paths, or everything when <paramref name="all"/>), commits with the message read from stdin, prints the new HEAD.</summary>
    public static string Commit(IReadOnlyList<string>? paths, bool all)
    {
        var pathspec = paths is { Count: > 0 } ? " -- " + string.Join(' ', paths.Select(Q)) : "";
        var add = paths is { Count: > 0 } ? $"git add -A{pathspec} || exit $?\n" : all ? "git add -A || exit $?\n" : "";
        return
            $"if [ -n \"$(git ls-files -u)\" ]; then echo 'orchestrator: paths are still in conflict' >&2; exit {UnmergedExit}; fi\n"
            + add
            + $"if git diff --cached --quiet{pathspec}; then echo 'orchestrator: nothing to commit' >&2; exit {NothingToCommitExit}; fi\n"
            // Without a configured identity git refuses to commit: fall back to the author, then to a neutral name.
            + "git config user.name >/dev/null 2>&1 || export GIT_COMMITTER_NAME=\"${GIT_AUTHOR_NAME:-Orchestrator}\" GIT_AUTHOR_NAME=\"${GIT_AUTHOR_NAME:-Orchestrator}\"\n"
            + "git config user.email >/dev/null 2>&1 || export GIT_COMMITTER_EMAIL=\"${GIT_AUTHOR_EMAIL:-orchestrator@localhost}\" GIT_AUTHOR_EMAIL=\"${GIT_AUTHOR_EMAIL:-orchestrator@localhost}\"\n"
            + $"git commit -q --no-verify -F -{pathspec} || exit $?\n"
            + "git rev-parse HEAD\n"
            + "git symbolic-ref --short -q HEAD || true\n";
    }

    /// <summary>Pushes a branch; prints <c>head=</c>, <c>branch=</c>, then git's <c>--porcelain</c> lines.</summary>
    public static string Push(string remote, string? branch, bool setUpstream, bool credentials) =>
        Prelude(credentials)
        + (branch is null
            ? $"branch=$(git symbolic-ref --short -q HEAD) || {{ echo 'orchestrator: HEAD is detached; name a branch' >&2; exit {DetachedExit}; }}\n"
            : $"branch={Q(branch)}\n")
        + "head=$(git rev-parse -q --verify \"refs/heads/$branch\") || { echo \"error: src refspec $branch does not match any\" >&2; exit 1; }\n"
        + "echo \"head=$head\"; echo \"branch=$branch\"\n"
        + $"{RemoteGit(credentials)} push --porcelain{(setUpstream ? " -u" : "")} {Q(remote)} \"refs/heads/$branch:refs/heads/$branch\"\n";

    /// <summary>Merges the upstream in (never rebases); prints <c>before=</c> and <c>after=</c> whatever happened.</summary>
    public static string Pull(bool credentials) =>
        Prelude(credentials)
        + "before=$(git rev-parse -q --verify HEAD)\n"
        + $"{RemoteGit(credentials)} pull -q --no-rebase --no-edit\n"
        + "rc=$?\n"
        + "echo \"before=$before\"; echo \"after=$(git rev-parse -q --verify HEAD)\"\n"
        + "exit $rc\n";

    public static string Checkout(string branch, bool create) =>
        $"git switch -q {(create ? "-c " : "")}{Q(branch)} || exit $?\n" + Status;
}
