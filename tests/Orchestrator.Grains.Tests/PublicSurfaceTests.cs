using System.Reflection;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Grains.Tests;

/// <summary>
/// The abstractions are what an outside Orleans client may reference: everything callable there must be safe for
/// any client to call. The cluster's own writers (index updates, quota reservations, the Fly budget, catalog
/// entries, child-run wiring) live in silo-internal interfaces instead.
/// </summary>
public sealed class PublicSurfaceTests
{
    private static readonly Assembly Abstractions = typeof(IInstanceGrain).Assembly;

    [Fact]
    public void NoPublicGrainInterfaceOffersAnInternalWriter()
    {
        var methods = Abstractions.GetExportedTypes()
            .Where(t => t.IsInterface && typeof(IAddressable).IsAssignableFrom(t))
            .SelectMany(t => t.GetMethods().Select(m => $"{t.Name}.{m.Name}"))
            .ToList();

        Assert.NotEmpty(methods);
        string[] internalWriters =
        [
            "IInstanceIndexGrain.UpdateAsync", "IInstanceIndexGrain.RemoveAsync", "IInstanceIndexGrain.ReserveAsync",
            "IWorkflowCatalogGrain.AddAsync", "IWorkflowRunGrain.ChildEndedAsync", "IFlyRateLimiterGrain.AcquireAsync",
            "IRunAdmissionGrain.AdmitAsync", "ITenantDirectoryGrain.RegisterAsync",
        ];
        Assert.Empty(methods.Intersect(internalWriters));
    }

    [Fact]
    public void AnOutsideCallerCannotNameARunsParent()
    {
        // A raw grain key in a start request could point at another tenant's run.
        Assert.DoesNotContain(typeof(RunStartRequest).GetProperties(), p => p.Name.Contains("Parent", StringComparison.Ordinal));
        Assert.DoesNotContain(typeof(RunStartRequest).GetProperties(), p => p.Name.EndsWith("Key", StringComparison.Ordinal));
    }
}
