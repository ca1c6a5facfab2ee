using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Orchestrator.Hosting;
using Orchestrator.Silo.Hosting;

namespace Orchestrator.Silo.Tests;

/// <summary>
/// What every host sets up (cluster settings, start-up failures, telemetry, the request id of grain calls) lives in
/// Orchestrator.Hosting; the silo takes from the gateway project only the HTTP API it co-hosts.
/// </summary>
public sealed class HostingBoundaryTests
{
    // The co-hosted API: its composition, the settings it is built with, and the names the dashboard and health checks share with it.
    private static readonly string[] CoHostedApi =
    [
        "Orchestrator.Gateway.GatewayExtensions",
        "Orchestrator.Gateway.Auth.AuthSettings",
        "Orchestrator.Gateway.Auth.Callers",
        "Orchestrator.Gateway.Limits.HttpLimitSettings",
        "Orchestrator.Gateway.Status.HealthEndpoints",
    ];

    [Fact]
    public void TheSiloUsesNothingOfTheGatewayProjectButTheApiItCoHosts()
    {
        var used = GatewayTypesReferencedBy(typeof(SiloApplication).Assembly);

        Assert.Empty(used.Except(CoHostedApi, StringComparer.Ordinal));
    }

    [Fact]
    public void TheHostingProjectDependsOnNeitherHost()
    {
        var hosting = typeof(StartupFailure).Assembly;

        Assert.Equal("Orchestrator.Hosting", hosting.GetName().Name);
        Assert.DoesNotContain(hosting.GetReferencedAssemblies(), a => a.Name is "Orchestrator.Gateway" or "Orchestrator.Silo");
        Assert.All(
            [typeof(ClusterSettings), typeof(StartupFailureException), typeof(TelemetryHosting), typeof(RequestIdGrainCallFilter), typeof(RequestIds)],
            type => Assert.Same(hosting, type.Assembly));
    }

    /// <summary>The full names of the types of Orchestrator.Gateway that <paramref name="assembly"/>'s code refers to.</summary>
    private static SortedSet<string> GatewayTypesReferencedBy(Assembly assembly)
    {
        using var stream = File.OpenRead(assembly.Location);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var handle in metadata.TypeReferences)
        {
            // A nested type is scoped by its declaring type: the outermost one names the assembly.
            var outer = metadata.GetTypeReference(handle);
            while (outer.ResolutionScope.Kind == HandleKind.TypeReference)
            {
                outer = metadata.GetTypeReference((TypeReferenceHandle)outer.ResolutionScope);
            }

            if (outer.ResolutionScope.Kind == HandleKind.AssemblyReference
                && metadata.GetString(metadata.GetAssemblyReference((AssemblyReferenceHandle)outer.ResolutionScope).Name) == "Orchestrator.Gateway")
            {
                names.Add($"{metadata.GetString(outer.Namespace)}.{metadata.GetString(outer.Name)}");
            }
        }

        return names;
    }
}
