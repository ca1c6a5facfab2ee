using System.Runtime.Versioning;

namespace Orchestrator.Sandbox.Tests;

/// <summary>What the host lacks to run machines is named, with the command that installs it, before anything starts.</summary>
[SupportedOSPlatform("linux")]
public sealed class HostPrerequisitesTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    [Fact]
    public void ThisHostHasWhatMachinesNeed()
    {
        var missing = HostPrerequisites.Find(new MachineSandboxOptions { DataDirectory = fixture.NewDataDirectory() });

        Assert.DoesNotContain(missing, item => item.Required);
    }

    [Fact]
    public void AnSshdPathThatDoesNotExistIsReportedWithThePathAndTheInstallCommand()
    {
        var path = "/nonexistent-" + Guid.NewGuid().ToString("N")[..8] + "/sshd";

        var missing = HostPrerequisites.Find(new MachineSandboxOptions { DataDirectory = fixture.NewDataDirectory(), SshdPath = path, UseBubblewrap = false });
        var description = HostPrerequisites.Describe(missing);

        Assert.Equal(new MissingPrerequisite("sshd", "openssh-server", Required: true, path), Assert.Single(missing));
        Assert.Contains($"sshd (not found at {path}, set by {MachineSandboxOptions.SshdPathSetting})", description, StringComparison.Ordinal);
        Assert.Contains("`apt-get install -y openssh-server`", description, StringComparison.Ordinal);
        Assert.Equal("apt-get install -y openssh-server bubblewrap", HostPrerequisites.InstallCommand(
            [new MissingPrerequisite("sshd", "openssh-server", true), new MissingPrerequisite("bwrap", "bubblewrap", false), new MissingPrerequisite("sshd", "openssh-server", true)]));
    }

    [Fact]
    public async Task AStartWithAMissingSshdFailsWithThatDescription()
    {
        var path = "/nonexistent-" + Guid.NewGuid().ToString("N")[..8] + "/sshd";
        var options = new MachineSandboxOptions { DataDirectory = fixture.NewDataDirectory(), SshdPath = path };
        await using var sandboxes = new MachineSandboxes(options, Microsoft.Extensions.Logging.Abstractions.NullLogger<MachineSandboxes>.Instance, TimeProvider.System);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), CancellationToken.None));

        Assert.Equal(HostPrerequisites.Describe(HostPrerequisites.Find(options).Where(item => item.Required).ToList()), error.Message);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }
}
