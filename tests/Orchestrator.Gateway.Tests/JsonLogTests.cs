using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Orchestrator.Hosting;
using Orchestrator.Testing;

namespace Orchestrator.Gateway.Tests;

/// <summary>The console log format of the standalone gateway, formatted by the host's own configured formatter.</summary>
public sealed class JsonLogTests
{
    [Fact]
    public async Task AskedForJsonTheGatewayWritesOneJsonObjectPerLineWithAUtcTimestampAndTheRequestId()
    {
        await using var app = GatewayProgram.Build(["--Logging:Console:FormatterName=json"]);

        var line = Format(app.Services, "json", "Instance box created", new RequestIdScope("json-1"));

        Assert.DoesNotContain('\n', line.TrimEnd('\n'));
        var json = JsonSerializer.Deserialize<JsonElement>(line);
        Assert.Equal("Instance box created", json.GetProperty("Message").GetString());
        var timestamp = json.GetProperty("Timestamp").GetString()!;
        Assert.EndsWith("Z", timestamp, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.Zero, DateTimeOffset.Parse(timestamp, CultureInfo.InvariantCulture).Offset);
        Assert.Contains(json.GetProperty("Scopes").EnumerateArray(), s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty(RequestIds.Key, out var id) && id.GetString() == "json-1");
    }

    [Theory]
    [InlineData(new string[0], "simple")]
    [InlineData(new[] { "--Logging:Console:FormatterName=json" }, "json")]
    [InlineData(new[] { "--ConnectionStrings:Orchestrator=Host=localhost;Database=x", "--Orchestrator:Auth:AdminKey=" + ApiKeys.Admin }, "json")]
    [InlineData(new[] { "--ConnectionStrings:Orchestrator=Host=localhost;Database=x", "--Orchestrator:Auth:AdminKey=" + ApiKeys.Admin, "--Logging:Console:FormatterName=simple" }, "simple")]
    public async Task TheGatewayOnADatabaseLogsJsonUnlessToldOtherwise(string[] args, string formatter)
    {
        await using var app = GatewayProgram.Build(args);

        var options = app.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;

        Assert.Equal(formatter, options.FormatterName ?? "simple");
    }

    private static string Format(IServiceProvider services, string formatterName, string message, object scope)
    {
        var formatter = services.GetServices<ConsoleFormatter>().Single(f => f.Name == formatterName);
        var scopes = new LoggerExternalScopeProvider();
        using var _ = scopes.Push(scope);
        using var writer = new StringWriter();
        formatter.Write(new LogEntry<string>(LogLevel.Information, "Orchestrator.Test", new EventId(1), message, null, static (s, _) => s), scopes, writer);
        return writer.ToString();
    }
}
