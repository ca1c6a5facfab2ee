using Orchestrator.Gateway;
using Orchestrator.Gateway.Auth;

using System.Reflection;

// The document is built from the endpoints' metadata, so the gateway needs no cluster to serve it: the cluster
// client is there (the endpoints and the key handler take one) but answers no call.
if (args is not [var output])
{
    await Console.Error.WriteLineAsync("usage: Orchestrator.Contract.Export <file to write /openapi/v1.json to>");
    return 2;
}

var builder = WebApplication.CreateBuilder();
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.Logging.SetMinimumLevel(LogLevel.Error);
builder.Services.AddSingleton(DispatchProxy.Create<IClusterClient, NoCluster>());
builder.Services.AddOrchestratorGateway(AuthSettings.Create(adminKey: null, devProfile: true));
await using var app = builder.Build();
app.UseOrchestratorGateway();
app.MapOrchestratorGateway();
await app.StartAsync();

using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
var document = await http.GetStringAsync(Orchestrator.Gateway.OpenApi.ApiReference.DocumentPath);
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
await File.WriteAllTextAsync(output, document);
await app.StopAsync();
return 0;

/// <summary>A cluster client whose every call fails: the export serves the document only.</summary>
#pragma warning disable CA1852 // DispatchProxy.Create needs a type it can derive from.
internal class NoCluster : DispatchProxy
#pragma warning restore CA1852
{
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
        throw new NotSupportedException($"The document export has no cluster ({targetMethod?.Name}).");
}
