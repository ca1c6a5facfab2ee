using Orchestrator.Silo.Hosting;
using Orchestrator.Testing;

namespace Orchestrator.Contract.Tests;

/// <summary>
/// One real silo (the production <see cref="SiloApplication"/> on PostgreSQL, its embedded Fly emulator running
/// machines as local sandboxes with sshd), its live OpenAPI document, and a validator every client of the contract
/// tests sends its traffic through.
/// </summary>
public sealed class ContractFixture : IAsyncLifetime
{
    public const string Tenant = "contract";

    private readonly PostgresDatabaseFixture _database = new();
    private WebApplication? _silo;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The document as the silo serves it.</summary>
    public string Document { get; private set; } = "";

    public ContractValidator Validator { get; private set; } = null!;

    /// <summary>A key of <see cref="Tenant"/>, made through the admin API.</summary>
    public string TenantKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _silo = SiloApplication.Build(
            TestSiloArguments.Postgres(_database.ConnectionString, "contract"),
            builder => builder.Logging.ClearProviders());
        await SiloApplication.StartAsync(_silo);
        BaseAddress = new Uri(_silo.Urls.First());
        using (var anonymous = new HttpClient { BaseAddress = BaseAddress })
        {
            Document = await anonymous.GetStringAsync("/openapi/v1.json");
        }

        Validator = new ContractValidator(Document);
        TenantKey = await ApiKeys.CreateTenantKeyAsync(BaseAddress, Tenant);
    }

    /// <summary>A client whose every answer is checked against the document; sends <paramref name="key"/> when given.</summary>
    public HttpClient Client(string? key)
    {
        var http = new HttpClient(new ValidatingHandler(Validator) { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = ApiKeys.Bearer(key);
        }

        return http;
    }

    public async Task DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.StopAsync();
            await _silo.DisposeAsync();
        }

        await _database.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ContractCluster : ICollectionFixture<ContractFixture>
{
    public const string Name = "contract";
}

/// <summary>Reads each answer whole (streams until they end) and has the validator check it.</summary>
internal sealed class ValidatingHandler(ContractValidator validator) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        validator.Check(request.Method, request.RequestUri!.AbsolutePath, (int)response.StatusCode, response.Headers, response.Content.Headers, body);
        return response;
    }
}

/// <summary>The repository's root, where the tools the contract tests run are installed.</summary>
internal static class Repository
{
    public static string Root { get; } = Find(AppContext.BaseDirectory);

    private static string Find(string directory) =>
        File.Exists(Path.Combine(directory, "Orchestrator.sln")) ? directory
        : Directory.GetParent(directory)?.FullName is { } parent ? Find(parent)
        : throw new InvalidOperationException($"No Orchestrator.sln above {AppContext.BaseDirectory}.");
}
