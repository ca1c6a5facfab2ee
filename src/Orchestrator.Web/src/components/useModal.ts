import { useEffect, useRef } from 'react';

/** A native modal dialog that is open while `open` is true (Escape and the form's cancel close it through onClose). */
export function useModal(open: boolean) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    if (open) dialog.current?.showModal();
    else dialog.current?.close();
  }, [open]);
  return dialog;
}
