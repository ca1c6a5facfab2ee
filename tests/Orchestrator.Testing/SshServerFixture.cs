namespace Orchestrator.Testing;

/// <summary>
/// xunit class fixture owning one <see cref="SshServer"/> with default options for all tests
/// of a class (<c>IClassFixture&lt;SshServerFixture&gt;</c>). Tests that share it should
/// authorize their own keys rather than change the server.
/// </summary>
public sealed class SshServerFixture : IAsyncLifetime
{
    private SshServer? _server;

    public SshServer Server => _server ?? throw new InvalidOperationException("SshServerFixture.Server is read before xunit ran InitializeAsync.");

    public async Task InitializeAsync() => _server = await SshServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
