namespace Orchestrator.Testing;

/// <summary>
/// xUnit class fixture: a fresh, empty database on the process's <see cref="PostgresServer"/> for one
/// test class, dropped when the class is done.
/// </summary>
public sealed class PostgresDatabaseFixture : IAsyncLifetime
{
    private readonly List<string> _databases = [];
    private PostgresServer? _server;

    /// <summary>The test class's own database.</summary>
    public string ConnectionString { get; private set; } = "";

    public PostgresServer Server => _server ?? throw new InvalidOperationException("The fixture is not initialized.");

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.SharedAsync();
        ConnectionString = await CreateDatabaseAsync();
    }

    /// <summary>Another fresh database, dropped with the fixture.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var connectionString = await Server.CreateDatabaseAsync();
        lock (_databases)
        {
            _databases.Add(connectionString);
        }

        return connectionString;
    }

    public async Task DisposeAsync()
    {
        if (_server is null)
        {
            return;
        }

        string[] databases;
        lock (_databases)
        {
            databases = [.. _databases];
        }

        foreach (var database in databases)
        {
            await _server.DropDatabaseAsync(database);
        }
    }
}
