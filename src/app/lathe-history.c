/* SPDX-License-Identifier: MIT */
#define G_LOG_DOMAIN "lathe-app"

#include "lathe-history.h"

/* Enough to walk back through a long exploration; the oldest steps go. */
#define MAX_STEPS 500

struct _LatheHistory {
  GObject     parent_instance;
  LathePlan  *current;
  GPtrArray  *undo;      /* LathePlan*, oldest first */
  GPtrArray  *redo;      /* LathePlan*, the next redo last */
};

G_DEFINE_FINAL_TYPE (LatheHistory, lathe_history, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CAN_UNDO,
  PROP_CAN_REDO,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
notify_both (LatheHistory *self,
             gboolean      could_undo,
             gboolean      could_redo)
{
  if (could_undo != lathe_history_can_undo (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_UNDO]);
  if (could_redo != lathe_history_can_redo (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_REDO]);
}

static void
lathe_history_finalize (GObject *object)
{
  LatheHistory *self = LATHE_HISTORY (object);

  g_clear_pointer (&self->current, lathe_plan_free);
  g_clear_pointer (&self->undo, g_ptr_array_unref);
  g_clear_pointer (&self->redo, g_ptr_array_unref);
  G_OBJECT_CLASS (lathe_history_parent_class)->finalize (object);
}

static void
lathe_history_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  LatheHistory *self = LATHE_HISTORY (object);

  switch (prop_id)
    {
    case PROP_CAN_UNDO: g_value_set_boolean (value, lathe_history_can_undo (self)); break;
    case PROP_CAN_REDO: g_value_set_boolean (value, lathe_history_can_redo (self)); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lathe_history_class_init (LatheHistoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = lathe_history_finalize;
  object_class->get_property = lathe_history_get_property;

  properties[PROP_CAN_UNDO] =
    g_param_spec_boolean ("can-undo", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CAN_REDO] =
    g_param_spec_boolean ("can-redo", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
lathe_history_init (LatheHistory *self)
{
  self->current = lathe_plan_new ();
  self->undo = g_ptr_array_new_with_free_func ((GDestroyNotify) lathe_plan_free);
  self->redo = g_ptr_array_new_with_free_func ((GDestroyNotify) lathe_plan_free);
}

LatheHistory *
lathe_history_new (void)
{
  return g_object_new (LATHE_TYPE_HISTORY, NULL);
}

void
lathe_history_reset (LatheHistory    *self,
                     const LathePlan *plan)
{
  gboolean could_undo, could_redo;

  g_return_if_fail (LATHE_IS_HISTORY (self));
  g_return_if_fail (plan != NULL);

  could_undo = lathe_history_can_undo (self);
  could_redo = lathe_history_can_redo (self);
  g_ptr_array_set_size (self->undo, 0);
  g_ptr_array_set_size (self->redo, 0);
  g_clear_pointer (&self->current, lathe_plan_free);
  self->current = lathe_plan_copy (plan);
  notify_both (self, could_undo, could_redo);
}

const LathePlan *
lathe_history_get_current (LatheHistory *self)
{
  g_return_val_if_fail (LATHE_IS_HISTORY (self), NULL);
  return self->current;
}

gboolean
lathe_history_commit (LatheHistory    *self,
                      const LathePlan *plan)
{
  gboolean could_undo, could_redo;

  g_return_val_if_fail (LATHE_IS_HISTORY (self), FALSE);
  g_return_val_if_fail (plan != NULL, FALSE);

  if (lathe_plan_equal (plan, self->current))
    return FALSE;
  could_undo = lathe_history_can_undo (self);
  could_redo = lathe_history_can_redo (self);
  g_ptr_array_add (self->undo, g_steal_pointer (&self->current));
  if (self->undo->len > MAX_STEPS)
    g_ptr_array_remove_index (self->undo, 0);
  self->current = lathe_plan_copy (plan);
  g_ptr_array_set_size (self->redo, 0);
  notify_both (self, could_undo, could_redo);
  return TRUE;
}

gboolean
lathe_history_can_undo (LatheHistory *self)
{
  g_return_val_if_fail (LATHE_IS_HISTORY (self), FALSE);
  return self->undo->len > 0;
}

gboolean
lathe_history_can_redo (LatheHistory *self)
{
  g_return_val_if_fail (LATHE_IS_HISTORY (self), FALSE);
  return self->redo->len > 0;
}

guint
lathe_history_get_n_undo (LatheHistory *self)
{
  g_return_val_if_fail (LATHE_IS_HISTORY (self), 0);
  return self->undo->len;
}

/* Moves the current plan onto `to` and the last of `from` into its place. */
static const LathePlan *
step (LatheHistory *self,
      GPtrArray    *from,
      GPtrArray    *to)
{
  gboolean could_undo = lathe_history_can_undo (self);
  gboolean could_redo = lathe_history_can_redo (self);

  if (from->len == 0)
    return NULL;
  g_ptr_array_add (to, g_steal_pointer (&self->current));
  self->current = g_ptr_array_steal_index (from, from->len - 1);
  notify_both (self, could_undo, could_redo);
  return self->current;
}

const LathePlan *
lathe_history_undo (LatheHistory *self)
{
  g_return_val_if_fail (LATHE_IS_HISTORY (self), NULL);
  return step (self, self->undo, self->redo);
}

const LathePlan *
lathe_history_redo (LatheHistory *self)
{
  g_return_val_if_fail (LATHE_IS_HISTORY (self), NULL);
  return step (self, self->redo, self->undo);
}
