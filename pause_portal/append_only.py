"""The one append-only guard in Python: rows that are history are never updated or deleted
through the ORM. A model states how it refuses (`Refusals`: the error type and the messages its
callers and tests rely on); the queryset refuses bulk update and delete, the model refuses saving
an existing row and deleting an instance. This is a guard for programming mistakes only: the
database is what enforces it (triggers, and an application role without UPDATE or DELETE on the
audit tables; see audit.core.db_roles).

Re-encryption after a key rotation may still rewrite a protected row's ciphertexts, and nothing
else, on a model whose refusals say `reencryptable`."""

from __future__ import annotations

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
