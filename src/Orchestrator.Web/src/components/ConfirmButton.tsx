import { useState } from 'react';
import { useModal } from './useModal';

/** A button that asks first, in a modal dialog that the keyboard can reach and Escape closes. */
export function ConfirmButton(props: {
  label: string;
  question: string;
  confirmLabel?: string;
  danger?: boolean;
  disabled?: boolean;
  onConfirm: () => void;
  children?: React.ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const dialog = useModal(open);
  return (
    <>
      <button type="button" className={props.danger ? 'danger' : ''} disabled={props.disabled} onClick={() => setOpen(true)}>
        {props.label}
      </button>
      <dialog ref={dialog} onClose={() => setOpen(false)} aria-label={props.question}>
        <form method="dialog" onSubmit={() => props.onConfirm()}>
          <p>{props.question}</p>
          {props.children}
          <div className="actions">
            <button type="button" onClick={() => setOpen(false)}>Cancel</button>
            <button type="submit" className={props.danger ? 'danger' : 'primary'}>{props.confirmLabel ?? props.label}</button>
          </div>
        </form>
      </dialog>
    </>
  );
}
