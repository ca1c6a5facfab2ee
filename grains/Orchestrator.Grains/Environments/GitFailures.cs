namespace Orchestrator.Grains.Environments;

/// <summary>
/// What a failed git command means, read from its exit code and its messages (run with <c>LC_ALL=C</c>, so in English).
/// Git has no machine-readable errors; these phrases are the ones git has printed for years.
/// </summary>
internal static class GitFailures
{
    public static string Classify(int? exitCode, string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (exitCode == GitScripts.NothingToCommitExit && output.Contains("orchestrator: nothing to commit", StringComparison.Ordinal))
        {
            return GitErrorKinds.NothingToCommit;
        }

        if (exitCode == GitScripts.UnmergedExit && output.Contains("orchestrator: paths are still in conflict", StringComparison.Ordinal))
        {
            return GitErrorKinds.MergeConflict;
        }

        var text = output.ToLowerInvariant();
        if (Any(text, "authentication failed", "could not read username", "could not read password", "access denied", "permission denied (publickey",
            "returned error: 401", "returned error: 403", "invalid username or password", "terminal prompts disabled"))
        {
            return GitErrorKinds.AuthenticationFailed;
        }

        if (Any(text, "[rejected]", "non-fast-forward", "(fetch first)", "updates were rejected"))
        {
            return GitErrorKinds.PushRejected;
        }

        if (Any(text, "conflict (", "automatic merge failed", "unmerged files", "you have not concluded your merge", "needs merge", "fix conflicts"))
        {
            return GitErrorKinds.MergeConflict;
        }

        if (Any(text, "would be overwritten", "please commit your changes or stash them"))
        {
            return GitErrorKinds.LocalChanges;
        }

        if (Any(text, "already exists"))
        {
            return GitErrorKinds.BranchExists;
        }

        if (Any(text, "invalid reference", "did not match any", "does not match any", "couldn't find remote ref", "remote branch", "not found in upstream"))
        {
            return GitErrorKinds.UnknownBranch;
        }

        if (Any(text, "no tracking information", "has no upstream branch"))
        {
            return GitErrorKinds.NoUpstream;
        }

        return GitErrorKinds.Failed;
    }

    private static bool Any(string text, params string[] phrases) => phrases.Any(p => text.Contains(p, StringComparison.Ordinal));
}
