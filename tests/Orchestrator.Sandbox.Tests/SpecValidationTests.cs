using System.Net;
using System.Runtime.Versioning;

namespace Orchestrator.Sandbox.Tests;

/// <summary>Specs that must be refused before anything runs or lands outside the machine.</summary>
[SupportedOSPlatform("linux")]
public sealed class SpecValidationTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>, IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(30));
    private MachineSandboxes _sandboxes = null!;
    private string _dataDirectory = "";

    private CancellationToken Timeout => _timeout.Token;

    public Task InitializeAsync()
    {
        _dataDirectory = fixture.NewDataDirectory();
        _sandboxes = SandboxFixture.CreateManager(_dataDirectory, useBubblewrap: true);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _sandboxes.DisposeAsync();
        _timeout.Dispose();
    }

    [Theory]
    [InlineData("/../escaped")]
    [InlineData("/root/../../escaped")]
    [InlineData("relative/path")]
    public async Task FilePathEscapingTheRootIsRefused(string guestPath)
    {
        var machineId = SandboxFixture.NewMachineId();
        var spec = fixture.Spec(machineId, files: [new SandboxFile(guestPath, "x"u8.ToArray())]);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => _sandboxes.StartAsync(spec, Timeout));

        Assert.Contains(guestPath, error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dataDirectory, "machines", "escaped")));
        Assert.False(File.Exists(Path.Combine(_dataDirectory, "escaped")));
        Assert.False(Directory.Exists(Path.Combine(_dataDirectory, "machines", machineId)));
    }

    [Fact]
    public async Task DotDotThatStaysInsideIsResolved()
    {
        var machine = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId(), files: [new SandboxFile("/srv/a/../b.txt", "b"u8.ToArray())]), Timeout);

        Assert.Equal("b", await File.ReadAllTextAsync(Path.Combine(machine.RootDirectory, "srv", "b.txt"), Timeout));
        Assert.False(Directory.Exists(Path.Combine(machine.RootDirectory, "srv", "a")));
    }

    [Fact]
    public async Task SymbolicLinkPlantedByTheMachineIsNotFollowedOnRestart()
    {
        var outside = fixture.NewVolume();
        var machineId = SandboxFixture.NewMachineId();
        // A kept root (rootfs.persist): a rebuilt one would have dropped the link with everything else.
        var spec = fixture.Spec(machineId, files: [new SandboxFile("/srv/conf/app.ini", "k=v\n"u8.ToArray())]) with { KeepRoot = true };
        var machine = await _sandboxes.StartAsync(spec, Timeout);
        await machine.StopAsync(Timeout);
        // What a machine's root could do from inside: point a directory of a spec file elsewhere.
        var conf = Path.Combine(machine.RootDirectory, "srv", "conf");
        Directory.Delete(conf, recursive: true);
        Directory.CreateSymbolicLink(conf, outside);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => _sandboxes.StartAsync(spec, Timeout));

        Assert.Contains("symbolic link", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
    }

    [Fact]
    public async Task NonLoopbackAddressIsRefused()
    {
        var spec = fixture.Spec(SandboxFixture.NewMachineId(), address: IPAddress.Any);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => _sandboxes.StartAsync(spec, Timeout));

        Assert.Contains("loopback", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../evil")]
    [InlineData("a/b")]
    [InlineData("")]
    public async Task MachineIdThatIsNotADirectoryNameIsRefused(string machineId)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _sandboxes.StartAsync(fixture.Spec(machineId), Timeout));
    }

    [Theory]
    [InlineData("A=B", "x")]
    [InlineData("MULTI", "line\nbreak")]
    public async Task EnvironmentSshdCannotCarryIsRefused(string name, string value)
    {
        var spec = fixture.Spec(SandboxFixture.NewMachineId(), new Dictionary<string, string> { [name] = value });

        var error = await Assert.ThrowsAsync<ArgumentException>(() => _sandboxes.StartAsync(spec, Timeout));

        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VolumeOverAHostBoundDirectoryIsRefused()
    {
        var spec = fixture.Spec(SandboxFixture.NewMachineId(), mounts: [new SandboxMount(fixture.NewVolume(), "/usr/local/data")]);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => _sandboxes.StartAsync(spec, Timeout));

        Assert.Contains("/usr/local/data", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GuestPathsNormalizeLikeTheKernel()
    {
        Assert.Equal("/a/c", GuestPaths.Normalize("/a/./b/../c/", "p"));
        Assert.Equal("/", GuestPaths.Normalize("/a/..", "p"));
        Assert.Throws<ArgumentException>(() => GuestPaths.Normalize("/a/../..", "p"));
        Assert.True(GuestPaths.IsAtOrBelow("/data/x", "/data"));
        Assert.False(GuestPaths.IsAtOrBelow("/database", "/data"));
    }

    [Fact]
    public void SetEnvQuotesWhatSshdWouldOtherwiseSplit()
    {
        var config = SshdConfig.Build(new SshdSettings(
            "m", IPAddress.Parse("127.1.2.3"), 2222, "/etc/ssh/key", null, null, "internal-sftp",
            [new("A", "two words"), new("B", "say \"hi\" \\ back")], DisablePerSourcePenalties: false));

        var setEnv = Assert.Single(config.Split('\n'), line => line.StartsWith("SetEnv", StringComparison.Ordinal));
        Assert.Equal("SetEnv \"A=two words\" \"B=say \\\"hi\\\" \\\\ back\"", setEnv);
        Assert.Contains("ListenAddress 127.1.2.3\n", config, StringComparison.Ordinal);
        Assert.DoesNotContain("PerSourcePenalties", config, StringComparison.Ordinal);
    }
}
