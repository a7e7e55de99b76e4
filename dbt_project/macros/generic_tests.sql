{# Rows where a column falls outside [min_value, max_value] (either bound optional). #}
-- Layout (LT02) not checked in this test block: its `if` branches are not rendered by the linter.
-- noqa: disable=LT02
{% test accepted_range(model, column_name, min_value=none, max_value=none) %}
select *
from {{ model }}
where {{ column_name }} is not null
  and (
    false
    {% if min_value is not none %} or {{ column_name }} < {{ min_value }} {% endif %}
    {% if max_value is not none %} or {{ column_name }} > {{ max_value }} {% endif %}
  )
{% endtest %}
-- noqa: enable=LT02

{# Key combinations that appear more than once. #}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{# A model that must not be empty (a mart built from nothing is a broken chain), unless it is
   built from a raw dataset the territory has not delivered yet (undelivered_sources.sql). #}
{% test not_empty(model) %}
    {% set empty_allowed = reads_undelivered(model.identifier) %}
select 1 as empty_model
where (select count(*) from {{ model }}) = 0 and not {{ empty_allowed }}
{% endtest %}
