using Orchestrator.Testing;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// <c>orch env</c> and <c>orch git</c> end to end: an environment cloned from a real <c>git daemon</c> (accepting
/// pushes) onto an emulator machine, changed with <c>orch exec</c>, committed and pushed with <c>orch git</c>.
/// </summary>
[Collection(CliCluster.Name)]
public sealed class EnvironmentTests(CliFixture fixture)
{
    [Fact]
    public async Task AnEnvironmentIsMadeChangedCommittedPushedAndDeleted()
    {
        await using var daemon = await GitDaemon.StartAsync("orch-env-git-");
        string? id = null;
        try
        {
            var remote = await daemon.CreateRepositoryAsync("remote.git");

            var missing = await fixture.RunAsync(["git", "status", "env-0000000000000000"]);
            Assert.True(missing.ExitCode == 3, missing.ToString());
            Assert.Equal(3, (await fixture.RunAsync(["env", "get", "env-0000000000000000"])).ExitCode);

            // Waits until ready (the command's own bounded wait is the condition; the fixture bounds the process).
            var created = await fixture.RunAsync([
                "env", "create", "app", "--repo", daemon.UrlOf("remote.git"), "--region", "ams", "--size", "shared-cpu-1x",
                "--setup", "git config user.name 'Env User' && git config user.email env@example.com", "-o", "json",
            ]);
            Assert.True(created.ExitCode == 0, created.ToString());
            Assert.Equal("ready", created.Json.GetProperty("status").GetString());
            id = created.Json.GetProperty("id").GetString()!;

            var status = await fixture.RunAsync(["git", "status", id]);
            Assert.True(status.ExitCode == 0, status.ToString());
            Assert.Contains("On branch main", status.Text, StringComparison.Ordinal);
            Assert.Contains("Upstream origin/main: ahead 0, behind 0", status.Text, StringComparison.Ordinal);
            Assert.Contains("Clean", status.Text, StringComparison.Ordinal);

            var changed = await fixture.RunAsync(["exec", id, "--", "cd /workspace/app && echo changed >> README.md && echo hi > new.txt"]);
            Assert.True(changed.ExitCode == 0, changed.ToString());
            status = await fixture.RunAsync(["git", "status", id]);
            Assert.Contains(" M README.md", status.Text, StringComparison.Ordinal);
            Assert.Contains("?? new.txt", status.Text, StringComparison.Ordinal);
            var json = await fixture.RunAsync(["git", "status", id, "-o", "json"]);
            Assert.False(json.Json.GetProperty("clean").GetBoolean());
            var diff = await fixture.RunAsync(["git", "diff", id, "--path", "README.md"]);
            Assert.Contains("+changed", diff.Text, StringComparison.Ordinal);

            var commit = await fixture.RunAsync(["git", "commit", id, "-m", "x", "--all", "--author", "Ada <ada@example.com>"]);
            Assert.True(commit.ExitCode == 0, commit.ToString());
            var sha = commit.Text.Trim();
            Assert.Matches("^[0-9a-f]{40}$", sha);
            var log = await fixture.RunAsync(["git", "log", id, "--limit", "1", "-o", "json"]);
            var last = Assert.Single(log.Json.GetProperty("commits").EnumerateArray());
            Assert.Equal((sha, "Ada"), (last.GetProperty("sha").GetString(), last.GetProperty("author").GetProperty("name").GetString()));

            var push = await fixture.RunAsync(["git", "push", id]);
            Assert.True(push.ExitCode == 0, push.ToString());
            Assert.Equal(sha, (await GitDaemon.RunGitAsync(remote, "rev-parse", "main")).Trim());

            var again = await fixture.RunAsync(["git", "commit", id, "-m", "again", "--all"]);
            Assert.Equal(5, again.ExitCode);
            Assert.Single(again.Stderr.Trim().Split('\n'));
            Assert.Contains("There is nothing to commit", again.Stderr, StringComparison.Ordinal);
            Assert.Contains("[409", again.Stderr, StringComparison.Ordinal);

            var refused = await fixture.RunAsync(["env", "delete", id]);
            Assert.Equal(2, refused.ExitCode);
            var deleted = await fixture.RunAsync(["env", "delete", id, "--yes"]);
            Assert.True(deleted.ExitCode == 0, deleted.ToString());
            id = null;
        }
        finally
        {
            if (id is not null)
            {
                await fixture.RunAsync(["env", "delete", id, "--yes"]);
            }
        }
    }
}
