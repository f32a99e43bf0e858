"""What a `ficus_change` row's `op` says, and what an outbox row's `operation` says.

Change rows (legacy side, written by the capture triggers or by Ficus itself):
  * `I`, `U`, `D`: a legacy write inserted, updated or deleted the record (the triggers);
  * `F`: a record this one's copy is derived from changed (a patient renamed: each of the
    patient's appointments carries the name), so its derived fields are refreshed; it is not
    a write of the record, never an echo, and never makes the record look newer;
  * `R`: read the record again (a dead letter retried): applied like any change, not a write;
  * `O`: the owner's state: legacy owns the record and its current row is put on the service
    whatever the versions say (a repair, or a refused service write undone).

Outbox operations (service side, contract C4): `upsert` and `delete` are service writes;
`restore` puts the service's current state on legacy whatever the versions say (a repair,
or a refused legacy write undone).
"""

from __future__ import annotations

from typing import Final

INSERT: Final = "I"
UPDATE: Final = "U"
DELETE: Final = "D"
FAN_OUT: Final = "F"
REREAD: Final = "R"
OWNER_STATE: Final = "O"
WRITE_OPS: Final = (INSERT, UPDATE, DELETE)

# Outbox operations (the services write them, reverse sync reads them).
OUTBOX_UPSERT: Final = "upsert"
OUTBOX_DELETE: Final = "delete"
# Not a write: put the record's current state on legacy whatever the versions say (sync queues
# it when it refuses a legacy write under `owner_wins`, and for a repair).
OUTBOX_RESTORE: Final = "restore"
OUTBOX_OPERATIONS: Final = (OUTBOX_UPSERT, OUTBOX_DELETE, OUTBOX_RESTORE)
