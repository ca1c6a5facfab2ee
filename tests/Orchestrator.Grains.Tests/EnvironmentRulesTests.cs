using Orchestrator.Grains.Environments;

namespace Orchestrator.Grains.Tests;

/// <summary>What environment fields and git arguments may be; the gateway's 400s name the field these rules check.</summary>
public sealed class EnvironmentRulesTests
{
    [Theory]
    [InlineData("app", true)]
    [InlineData("My.App_2-x", true)]
    [InlineData("", false)]
    [InlineData(".hidden", false)]
    [InlineData("..", false)]
    [InlineData("a/b", false)]
    [InlineData("with space", false)]
    public void Names(string name, bool valid) => Assert.Equal(valid, EnvironmentRules.ValidateName(name) is null);

    [Theory]
    [InlineData("https://github.com/owner/repo.git", true)]
    [InlineData("http://127.0.0.1:8080/private.git", true)]
    [InlineData("git://127.0.0.1:9418/repo", true)]
    [InlineData("ssh://git@example.com/repo.git", true)]
    [InlineData("git@github.com:owner/repo.git", true)]
    [InlineData("https://x-access-token@github.com/o/r.git", true)]
    [InlineData("https://user:password@github.com/o/r.git", false)]
    [InlineData("file:///etc", false)]
    [InlineData("/srv/repo", false)]
    [InlineData("--upload-pack=touch /tmp/x", false)]
    [InlineData("https://github.com/o/r .git", false)]
    [InlineData("", false)]
    public void RepoUrls(string url, bool valid) => Assert.Equal(valid, EnvironmentRules.ValidateRepoUrl(url) is null);

    [Theory]
    [InlineData("main", true)]
    [InlineData("feature/x-1.2_y", true)]
    [InlineData("-x", false)]
    [InlineData("a..b", false)]
    [InlineData("a//b", false)]
    [InlineData("a/", false)]
    [InlineData("a.lock", false)]
    [InlineData("a/.b", false)]
    [InlineData("a@{1}", false)]
    [InlineData("HEAD", false)]
    [InlineData("with space", false)]
    [InlineData("", false)]
    public void Branches(string branch, bool valid) => Assert.Equal(valid, EnvironmentRules.ValidateBranch(branch) is null);

    [Theory]
    [InlineData("src/a.cs", true)]
    [InlineData("a file.txt", true)]
    [InlineData("../etc/passwd", false)]
    [InlineData("a/../../b", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData("-rf", false)]
    public void Paths(string path, bool valid) => Assert.Equal(valid, EnvironmentRules.ValidatePath(path) is null);

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(1000, true)]
    [InlineData(1001, false)]
    public void LogLimits(int limit, bool valid) => Assert.Equal(valid, EnvironmentRules.ValidateLimit(limit) is null);

    [Theory]
    [InlineData("Fix it", true)]
    [InlineData("", false)]
    [InlineData("   \n", false)]
    [InlineData("a\0b", false)]
    public void Messages(string message, bool valid) => Assert.Equal(valid, EnvironmentRules.ValidateMessage(message) is null);
}
