using System.Net;
using System.Text.Json;
using Orchestrator.Gateway.Instances;
using Orchestrator.Testing;

namespace Orchestrator.Silo.Tests;

/// <summary>
/// A dev-profile silo on a host whose OpenSSH server is not where it is said to be: it says so once at start with
/// the command that installs it, and refuses creates with the same words instead of making instances that fail.
/// </summary>
public sealed class MissingPrerequisitesTests : IAsyncLifetime
{
    private const string MissingSshd = "/nonexistent/orchestrator-test/sshd";
    private readonly LogCapture _log = new();
    private DevSilo _silo = null!;
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _silo = await DevSilo.StartAsync(_log, $"--FlyEmulator:SshdPath={MissingSshd}");
        _app = _silo.App;
        _http = _silo.Http;
    }

    public Task DisposeAsync() => _silo.DisposeAsync().AsTask();

    [Fact]
    public void StartUpNamesWhatIsMissingAndTheCommandThatInstallsIt()
    {
        var line = Assert.Single(_log.Lines, l => l.Contains("Machines cannot start on this host", StringComparison.Ordinal));

        Assert.Contains($"sshd (not found at {MissingSshd}", line, StringComparison.Ordinal);
        Assert.Contains("`apt-get install -y openssh-server`", line, StringComparison.Ordinal);
        Assert.Contains("503 machines-unavailable", line, StringComparison.Ordinal);
        // An explicitly named server is not replaced by an installed one.
        Assert.DoesNotContain(_log.Lines, l => l.Contains("Installing", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CreatingAnInstanceIs503NamingTheSameAndNothingIsCreated()
    {
        using var response = await _http.PostAsJsonAsync("/api/instances?wait=started", new { name = "never", region = "ams", size = "shared-cpu-1x" });
        var problem = JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(InstanceProblems.MachinesUnavailable, problem.GetProperty("type").GetString());
        Assert.Contains(MissingSshd, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("apt-get install -y openssh-server", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var read = await _http.GetAsync("/api/instances/never");
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        var list = JsonSerializer.Deserialize<JsonElement>(await _http.GetStringAsync("/api/instances"));
        Assert.Empty(list.GetProperty("items").EnumerateArray());
    }
}
