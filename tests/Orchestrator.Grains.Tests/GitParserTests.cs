using Orchestrator.Grains.Environments;

namespace Orchestrator.Grains.Tests;

/// <summary>
/// The git parsers against git's own machine formats: <c>git status --porcelain=v2 --branch -z</c> records and the fixed
/// <c>git log</c> format (the end-to-end checks against real git are in the integration tests).
/// </summary>
public sealed class GitParserTests
{
    private const string Head = "3f0b6f9b1f0c1a2d5e6f708192a3b4c5d6e7f809";
    private const string Other = "a1b2c3d4e5f60718293a4b5c6d7e8f9011223344";

    private static string Z(params string[] records) => string.Join('\0', records) + "\0";

    [Fact]
    public void ACleanBranchWithItsUpstreamHasCountsAndNoFiles()
    {
        var status = GitStatusParser.Parse(Z($"# branch.oid {Head}", "# branch.head main", "# branch.upstream origin/main", "# branch.ab +2 -3"));

        Assert.Equal(("main", Head, false, "origin/main", 2, 3), (status.Branch, status.Head, status.Detached, status.Upstream, status.Ahead, status.Behind));
        Assert.True(status.Clean);
        Assert.Empty(status.Conflicts);
    }

    [Fact]
    public void WithoutAnUpstreamAheadAndBehindAreNull()
    {
        var status = GitStatusParser.Parse(Z($"# branch.oid {Head}", "# branch.head feature/x"));

        Assert.Equal("feature/x", status.Branch);
        Assert.Null(status.Upstream);
        Assert.Null(status.Ahead);
        Assert.Null(status.Behind);
    }

    [Fact]
    public void ADetachedHeadHasNoBranch()
    {
        var status = GitStatusParser.Parse(Z($"# branch.oid {Head}", "# branch.head (detached)"));

        Assert.True(status.Detached);
        Assert.Null(status.Branch);
        Assert.Equal(Head, status.Head);
    }

    [Fact]
    public void BeforeTheFirstCommitThereIsNoHead()
    {
        var status = GitStatusParser.Parse(Z("# branch.oid (initial)", "# branch.head main", "? new file.txt"));

        Assert.Null(status.Head);
        Assert.Equal("main", status.Branch);
        var file = Assert.Single(status.Files);
        Assert.Equal(new GitFileStatus("new file.txt", GitFileKinds.Untracked, GitChangeStates.Untracked, GitChangeStates.Untracked), file);
    }

    [Fact]
    public void ChangedFilesCarryTheirIndexAndWorktreeStates()
    {
        var status = GitStatusParser.Parse(Z(
            $"# branch.oid {Head}",
            "# branch.head main",
            $"1 .M N... 100644 100644 100644 {Head} {Head} README.md",
            $"1 A. N... 000000 100644 100644 {Other} {Other} src/a file with spaces.cs",
            $"1 MD N... 100644 100644 000000 {Head} {Other} gone.txt",
            $"1 .T N... 100644 100644 120000 {Head} {Head} link",
            "! build/out.bin"));

        Assert.Equal(
            [
                new GitFileStatus("README.md", GitFileKinds.Changed, GitChangeStates.Unmodified, GitChangeStates.Modified),
                new GitFileStatus("src/a file with spaces.cs", GitFileKinds.Changed, GitChangeStates.Added, GitChangeStates.Unmodified),
                new GitFileStatus("gone.txt", GitFileKinds.Changed, GitChangeStates.Modified, GitChangeStates.Deleted),
                new GitFileStatus("link", GitFileKinds.Changed, GitChangeStates.Unmodified, GitChangeStates.TypeChanged),
                new GitFileStatus("build/out.bin", GitFileKinds.Ignored, GitChangeStates.Ignored, GitChangeStates.Ignored),
            ],
            status.Files);
        Assert.False(status.Clean);
    }

    [Fact]
    public void RenamesAndCopiesCarryTheOriginalPathFromTheNextRecord()
    {
        var status = GitStatusParser.Parse(Z(
            $"# branch.oid {Head}",
            "# branch.head main",
            $"2 R. N... 100644 100644 100644 {Head} {Head} R100 docs/new name.md",
            "docs/old name.md",
            $"2 CM N... 100644 100644 100644 {Head} {Head} C75 copy.txt",
            "original.txt"));

        Assert.Equal(
            [
                new GitFileStatus("docs/new name.md", GitFileKinds.Renamed, GitChangeStates.Renamed, GitChangeStates.Unmodified, "docs/old name.md", 100),
                new GitFileStatus("copy.txt", GitFileKinds.Copied, GitChangeStates.Copied, GitChangeStates.Modified, "original.txt", 75),
            ],
            status.Files);
    }

    [Fact]
    public void UnmergedPathsAreConflicts()
    {
        var status = GitStatusParser.Parse(Z(
            $"# branch.oid {Head}",
            "# branch.head main",
            "# branch.upstream origin/main",
            "# branch.ab +1 -1",
            $"u UU N... 100644 100644 100644 100644 {Head} {Other} {Head} README.md",
            $"u AA N... 000000 100644 100644 100644 {Head} {Other} {Head} both added.txt"));

        Assert.Equal(["README.md", "both added.txt"], status.Conflicts);
        Assert.All(status.Files, f => Assert.Equal(GitFileKinds.Unmerged, f.Kind));
        Assert.Equal((GitChangeStates.Unmerged, GitChangeStates.Unmerged), (status.Files[0].Index, status.Files[0].Worktree));
        Assert.Equal((GitChangeStates.Added, GitChangeStates.Added), (status.Files[1].Index, status.Files[1].Worktree));
    }

    [Theory]
    [InlineData("x what is this")]
    [InlineData("1 .M N... 100644")]
    [InlineData("# branch.ab 2 3")]
    [InlineData("1 .Z N... 100644 100644 100644 h h path")]
    public void OtherInputIsRefused(string record) =>
        Assert.Throws<FormatException>(() => GitStatusParser.Parse(Z("# branch.head main", record)));

    [Fact]
    public void ARenameWithoutItsOriginalPathIsRefused() =>
        Assert.Throws<FormatException>(() => GitStatusParser.Parse($"2 R. N... 100644 100644 100644 {Head} {Head} R100 new.md"));

    [Fact]
    public void TheLogFormatKeepsSubjectBodyParentsAndBothPeople()
    {
        var text =
            $"{Head}\u001f{Other} {Other.Replace('a', 'b')}\u001fAda Lovelace\u001fada@example.com\u001f2026-12-04T17:00:00+01:00\u001fBot\u001fbot@example.com\u001f2026-12-04T16:30:00Z\u001fMerge branch 'x'\u001fFirst line of the body\n\nWith a blank line, | pipes and \u001f in it\n\u001e\n"
            + $"{Other}\u001f\u001fAda Lovelace\u001fada@example.com\u001f2026-12-01T09:00:00Z\u001fAda Lovelace\u001fada@example.com\u001f2026-12-01T09:00:00Z\u001finitial\u001f\u001e\n";

        var commits = GitLogParser.Parse(text);

        Assert.Equal(2, commits.Count);
        var merge = commits[0];
        Assert.Equal(Head, merge.Sha);
        Assert.Equal([Other, Other.Replace('a', 'b')], merge.Parents);
        Assert.Equal(new GitPerson("Ada Lovelace", "ada@example.com"), merge.Author);
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 16, 0, 0, TimeSpan.Zero), merge.AuthoredAt);
        Assert.Equal(new GitPerson("Bot", "bot@example.com"), merge.Committer);
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 16, 30, 0, TimeSpan.Zero), merge.CommittedAt);
        Assert.Equal("Merge branch 'x'", merge.Subject);
        Assert.Equal("First line of the body\n\nWith a blank line, | pipes and \u001f in it", merge.Body);
        Assert.Empty(commits[1].Parents);
        Assert.Equal(("initial", ""), (commits[1].Subject, commits[1].Body));
    }

    [Fact]
    public void AnEmptyLogHasNoCommits() => Assert.Empty(GitLogParser.Parse(""));

    [Theory]
    [InlineData("not a log\u001e")]
    [InlineData("zzzz\u001f\u001fa\u001fb\u001f2026-01-01T00:00:00Z\u001fc\u001fd\u001f2026-01-01T00:00:00Z\u001fs\u001f\u001e")]
    [InlineData("3f0b6f9b1f0c1a2d5e6f708192a3b4c5d6e7f809\u001f\u001fa\u001fb\u001fyesterday\u001fc\u001fd\u001f2026-01-01T00:00:00Z\u001fs\u001f\u001e")]
    public void AMalformedLogIsRefused(string text) => Assert.Throws<FormatException>(() => GitLogParser.Parse(text));

    [Theory]
    [InlineData(3, "orchestrator: nothing to commit", GitErrorKinds.NothingToCommit)]
    [InlineData(4, "orchestrator: paths are still in conflict", GitErrorKinds.MergeConflict)]
    [InlineData(1, " ! [rejected]        main -> main (fetch first)\nerror: failed to push some refs", GitErrorKinds.PushRejected)]
    [InlineData(1, "!\trefs/heads/main:refs/heads/main\t[rejected] (non-fast-forward)", GitErrorKinds.PushRejected)]
    [InlineData(128, "fatal: Authentication failed for 'https://example.com/r.git/'", GitErrorKinds.AuthenticationFailed)]
    [InlineData(128, "fatal: could not read Username for 'https://example.com': terminal prompts disabled", GitErrorKinds.AuthenticationFailed)]
    [InlineData(1, "CONFLICT (content): Merge conflict in README.md\nAutomatic merge failed; fix conflicts and then commit the result.", GitErrorKinds.MergeConflict)]
    [InlineData(128, "fatal: invalid reference: nope", GitErrorKinds.UnknownBranch)]
    [InlineData(128, "fatal: a branch named 'x' already exists", GitErrorKinds.BranchExists)]
    [InlineData(1, "error: Your local changes to the following files would be overwritten by checkout:", GitErrorKinds.LocalChanges)]
    [InlineData(1, "There is no tracking information for the current branch.", GitErrorKinds.NoUpstream)]
    [InlineData(128, "fatal: something else entirely", GitErrorKinds.Failed)]
    public void FailuresAreClassifiedFromGitsMessages(int exitCode, string output, string kind) =>
        Assert.Equal(kind, GitFailures.Classify(exitCode, output));

    [Theory]
    [InlineData("ghp_abc123", GitCredentials.DefaultUsername, "ghp_abc123")]
    [InlineData("alice:s3cret:with:colons", "alice", "s3cret:with:colons")]
    [InlineData(":leading", GitCredentials.DefaultUsername, ":leading")]
    public void ASecretIsATokenOrUsernameAndToken(string secret, string username, string password) =>
        Assert.Equal(new GitCredentials(username, password), GitCredentials.FromSecret(secret));

    [Fact]
    public void ASecretOfMoreThanOneLineIsNoCredential() => Assert.Null(GitCredentials.FromSecret("a\nb"));

    [Fact]
    public void TheTokenIsNeverInTheScriptsText()
    {
        var credentials = new GitCredentials("alice", "tok-very-secret");
        var scripts = new[]
        {
            GitScripts.Clone("https://example.com/r.git", "main", "/workspace/app", credentials: true),
            GitScripts.Push("origin", null, setUpstream: true, credentials: true),
            GitScripts.Pull(credentials: true),
        };

        Assert.All(scripts, s => Assert.DoesNotContain("tok-very-secret", s, StringComparison.Ordinal));
        Assert.All(scripts, s => Assert.StartsWith("IFS= read -r ORCH_GIT_USERNAME", s, StringComparison.Ordinal));
        Assert.Equal("alice\ntok-very-secret\n", System.Text.Encoding.UTF8.GetString(credentials.Stdin()));
        Assert.DoesNotContain("tok-very-secret", credentials.ToString(), StringComparison.Ordinal);
    }
}
