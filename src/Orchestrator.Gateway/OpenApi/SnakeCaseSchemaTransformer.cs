using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Orchestrator.Gateway.Instances;

namespace Orchestrator.Gateway.OpenApi;

/// <summary>
/// The generator names properties with the default web options (camelCase), while every answer of this assembly goes
/// over the wire with <see cref="InstanceEndpoints.Json"/> (snake_case): this renames the schemas' properties to the
/// names those options give them.
/// </summary>
internal sealed class SnakeCaseSchemaTransformer : IOpenApiSchemaTransformer
{
    /// <summary>The wire options with a resolver of their own, so reading names from them leaves the shared ones untouched.</summary>
    private static readonly JsonSerializerOptions Wire = new(InstanceEndpoints.Json) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo.Type;
        if (schema.Properties is not { Count: > 0 } properties || !IsSnakeCase(type))
        {
            return Task.CompletedTask;
        }

        var wire = Wire.GetTypeInfo(type).Properties
            .Where(static p => p.AttributeProvider is MemberInfo)
            .ToDictionary(static p => (MemberInfo)p.AttributeProvider!, static p => p.Name);
        var names = context.JsonTypeInfo.Properties
            .Where(p => p.AttributeProvider is MemberInfo member && wire.ContainsKey(member))
            .ToDictionary(static p => p.Name, p => wire[(MemberInfo)p.AttributeProvider!], StringComparer.Ordinal);

        // Rebuilt rather than renamed in place, so the properties keep their declaration order.
        schema.Properties = properties.ToDictionary(p => names.GetValueOrDefault(p.Key, p.Key), static p => p.Value, StringComparer.Ordinal);
        if (schema.Required is { Count: > 0 } required)
        {
            // A property left out when null is not always there, whatever its constructor says.
            var omittable = wire.Where(static p => p.Key.GetCustomAttribute<JsonIgnoreAttribute>()?.Condition is JsonIgnoreCondition.WhenWritingNull or JsonIgnoreCondition.WhenWritingDefault)
                .Select(static p => p.Value)
                .ToHashSet(StringComparer.Ordinal);
            schema.Required = new HashSet<string>(required.Select(r => names.GetValueOrDefault(r, r)).Where(r => !omittable.Contains(r)), StringComparer.Ordinal);
        }

        return Task.CompletedTask;
    }

    internal static bool IsSnakeCase(Type type) => type.Assembly == typeof(SnakeCaseSchemaTransformer).Assembly;
}
