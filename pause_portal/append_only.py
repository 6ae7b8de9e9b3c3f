"""The one append-only guard in Python: rows that are history are never updated or deleted
through the ORM. A model states how it refuses (`Refusals`: the error type and the messages its
callers and tests rely on); the queryset refuses bulk update and delete, the model refuses saving
an existing row and deleting an instance. This is a guard for programming mistakes only: the
database is what enforces it (triggers, and an application role without UPDATE or DELETE on the
audit tables; see audit.core.db_roles).

Re-encryption after a key rotation may still rewrite a protected row's ciphertexts, and nothing
else, on a model whose refusals say `reencryptable`.

`delete_tree` is the one deliberate path past the guard: deleting a person's records with every row
that hangs off them (erasure, `audit.oversight.erasure`; the Trust's copy's retention,
`eligibility.trust_copy_retention`). Each caller says which kinds of rows it must never reach."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import models

from pseudonymisation.fields import EncryptedField


@dataclass(frozen=True)
class Refusals:
    """What a model raises. Messages may name the model: {name} and {plural} (its verbose names)."""

    error: type[Exception]
    update: str  # a bulk update
    delete: str  # a bulk delete, and an instance's delete unless `instance_delete` says otherwise
    save: str  # saving a row that already exists
    instance_delete: str | None = None
    reencryptable: bool = False

    def refuse(self, model: type[models.Model], message: str) -> Exception:
        meta = model._meta
        return self.error(message.format(name=meta.verbose_name, plural=meta.verbose_name_plural))

    def rewritable(self, model: type[models.Model]) -> set[str]:
        if not self.reencryptable:
            return set()
        return {f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedField)}


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk update and delete with the model's `append_only` refusals."""

    def update(self, **kwargs):
        refusals: Refusals = self.model.append_only
        if kwargs and set(kwargs) <= refusals.rewritable(self.model):
            return super().update(**kwargs)
        raise refusals.refuse(self.model, refusals.update)

    def delete(self):
        refusals: Refusals = self.model.append_only
        raise refusals.refuse(self.model, refusals.delete)


class AppendOnlyModel(models.Model):
    """A model whose rows, once written, are never changed or deleted (save and delete refused here
    too: Model.delete() goes through a collector, not the queryset)."""

    append_only: Refusals

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # Guard, not logic.
        if not self._state.adding:
            fields = kwargs.get("update_fields")
            if not fields or not set(fields) <= self.append_only.rewritable(type(self)):
                raise self.append_only.refuse(type(self), self.append_only.save)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        refusals = self.append_only
        raise refusals.refuse(type(self), refusals.instance_delete or refusals.delete)


# --- the one deliberate path past the guard -----------------------------------------------------
def reverse_links(model: type[models.Model]) -> Iterator:
    """Every one-to-many or one-to-one link pointing at `model`, hidden ones (related_name "+") too."""
    for rel in model._meta.get_fields(include_hidden=True):
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one):
            yield rel


def delete_tree(model: type[models.Model], pks: list[int], deleted: Counter, *,
                refuse: Callable[[type[models.Model]], Exception | None]) -> None:
    """Delete these rows of `model` and, first, every row that points at them (deepest first),
    through plain querysets: history rows go too. Links that clear themselves (SET_NULL) are
    cleared. Reaching rows of a model for which `refuse(model)` gives an error raises it (the
    caller's transaction then rolls everything back). Counts rows per model label in `deleted`."""
    error = refuse(model)
    if error is not None:
        raise error
    for rel in reverse_links(model):
        related, field = rel.related_model, rel.field
        linked = models.QuerySet(model=related).filter(**{f"{field.name}__in": pks})
        if rel.on_delete is models.SET_NULL:
            linked.update(**{field.name: None})
            continue
        ids = list(linked.values_list("pk", flat=True))
        if ids:
            delete_tree(related, ids, deleted, refuse=refuse)
    _deleted, per_label = models.QuerySet(model=model).filter(pk__in=pks).delete()
    deleted.update({label: n for label, n in per_label.items() if n})
