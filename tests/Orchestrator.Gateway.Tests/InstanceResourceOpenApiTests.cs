using System.Text.Json.Nodes;
using Orchestrator.Testing;

namespace Orchestrator.Gateway.Tests;

/// <summary>How the OpenAPI document describes resizing an instance and growing its volume.</summary>
[Collection(InMemoryCluster.Name)]
public sealed class InstanceResourceOpenApiTests(InMemoryClusterFixture cluster)
{
    [Fact]
    public async Task ResizeAndExtendDescribeTheirBodiesAnswersAndProblems()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);
        using var anonymous = new HttpClient { BaseAddress = gateway.BaseAddress };
        var document = JsonNode.Parse(await anonymous.GetStringAsync("/openapi/v1.json"))!;
        var schemas = document["components"]!["schemas"]!;

        var resize = document["paths"]!["/api/instances/{id}"]!["patch"]!;
        Assert.Equal("ResizeInstance", (string)resize["operationId"]!);
        Assert.Equal("#/components/schemas/ResizeInstanceRequest", (string)resize["requestBody"]!["content"]!["application/json"]!["schema"]!["$ref"]!);
        Assert.True((bool)resize["requestBody"]!["required"]!);
        Assert.NotNull(resize["responses"]!["202"]!["headers"]!["Location"]);
        Assert.Contains("lease", (string)resize["description"]!, StringComparison.Ordinal);

        var extend = document["paths"]!["/api/instances/{id}/volume/extend"]!["post"]!;
        Assert.Equal("ExtendInstanceVolume", (string)extend["operationId"]!);
        Assert.Equal("#/components/schemas/ExtendInstanceVolumeRequest", (string)extend["requestBody"]!["content"]!["application/json"]!["schema"]!["$ref"]!);
        Assert.NotNull(extend["responses"]!["200"]);
        Assert.Contains("never shrink", (string)extend["description"]!, StringComparison.Ordinal);

        foreach (var operation in new[] { resize, extend })
        {
            foreach (var status in new[] { "400", "404", "409" })
            {
                Assert.Equal(["application/problem+json"], operation["responses"]![status]!["content"]!.AsObject().Select(static c => c.Key));
            }

            Assert.Equal(["id"], operation["parameters"]!.AsArray().Select(static p => (string)p!["name"]!));
        }

        Assert.NotNull(schemas["ExtendInstanceVolumeRequest"]!["properties"]!["size_gb"]);
        Assert.NotNull(schemas["CreateInstanceRequest"]!["properties"]!["volume"]!["properties"]!["id"]);
        Assert.NotNull(schemas["InstanceResponse"]!["properties"]!["volume_size_gb"]);
    }
}
