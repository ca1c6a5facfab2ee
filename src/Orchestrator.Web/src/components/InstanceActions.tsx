import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { instancesApi } from '../api/endpoints';
import type { Instance } from '../api/types';
import { ConfirmButton } from './ConfirmButton';
import { ProblemView } from './ProblemView';

export function InstanceActions({ instance, compact = false }: { instance: Instance; compact?: boolean }) {
  const queries = useQueryClient();
  const [keepVolume, setKeepVolume] = useState(false);
  const done = (updated: Instance) => {
    queries.setQueryData(['instance', updated.id], updated);
    void queries.invalidateQueries({ queryKey: ['instances'] });
    void queries.invalidateQueries({ queryKey: ['instance-events', updated.id] });
  };
  const act = useMutation({ mutationFn: (action: 'start' | 'stop' | 'restart') => instancesApi.act(instance.id, action), onSuccess: done });
  const destroy = useMutation({ mutationFn: () => instancesApi.destroy(instance.id, keepVolume), onSuccess: done });
  if (instance.state === 'destroyed') return null;
  const busy = act.isPending || destroy.isPending;
  const name = instance.name;
  return (
    <div className={compact ? 'row-actions' : 'actions'}>
      {instance.state === 'stopped' && <button type="button" disabled={busy} onClick={() => act.mutate('start')} aria-label={`Start ${name}`}>Start</button>}
      {instance.state === 'started' && (
        <ConfirmButton label="Stop" question={`Stop ${name}? Its processes end; its volume stays.`} disabled={busy} onConfirm={() => act.mutate('stop')} />
      )}
      {instance.state === 'started' && (
        <ConfirmButton label="Restart" question={`Restart ${name}?`} disabled={busy} onConfirm={() => act.mutate('restart')} />
      )}
      <ConfirmButton label="Destroy" danger question={`Destroy ${name}? This cannot be undone.`} disabled={busy} onConfirm={() => destroy.mutate()}>
        {instance.volume_id && (
          <label className="inline">
            <input type="checkbox" checked={keepVolume} onChange={(e) => setKeepVolume(e.target.checked)} /> Keep its volume
          </label>
        )}
      </ConfirmButton>
      <ProblemView error={act.error ?? destroy.error} />
    </div>
  );
}
