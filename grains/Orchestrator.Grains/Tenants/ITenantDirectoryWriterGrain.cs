namespace Orchestrator.Grains.Tenants;

/// <summary>
/// Silo-internal: how tenant grains keep the <see cref="ITenantDirectoryGrain"/> current. Not in the abstractions:
/// an Orleans client must not write the directory.
/// </summary>
[Alias("orchestrator.ITenantDirectoryWriterGrain")]
internal interface ITenantDirectoryWriterGrain : IGrainWithIntegerKey
{
    /// <summary>Adds the tenant, or updates what is held of it; the same entry again writes nothing.</summary>
    [Alias("Register")]
    Task RegisterAsync(TenantDirectoryEntry entry, CancellationToken cancellationToken = default);
}
