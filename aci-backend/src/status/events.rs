//! ACI events → provider events with stable keys.
//!
//! ACI aggregates repeats of one occurrence into one event whose `count` and `lastTimestamp`
//! grow while `firstTimestamp` stays, so `<container or ->/<name>/<firstTimestamp>` names the
//! same occurrence on every read, across streams and backend restarts.

use vk_proto::v1;

use super::container_state::timestamp;
use crate::model::{ContainerGroup, Event};

fn convert(e: &Event, container: &str) -> v1::ProviderEvent {
    let first = e.first_timestamp.or(e.last_timestamp);
    let first_text =
        first.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)).unwrap_or_else(|| "-".into());
    let owner = if container.is_empty() { "-" } else { container };
    let event_type = if e.event_type.eq_ignore_ascii_case("Warning") {
        v1::EventType::Warning
    } else {
        v1::EventType::Normal
    };
    v1::ProviderEvent {
        key: format!("{owner}/{}/{first_text}", e.name),
        reason: e.name.clone(),
        message: e.message.clone(),
        r#type: event_type as i32,
        count: e.count.max(1),
        first_timestamp: timestamp(first),
        last_timestamp: timestamp(e.last_timestamp.or(first)),
        container_name: container.to_string(),
    }
}

/// Every event of the group and its containers, oldest first.
pub fn provider_events(group: &ContainerGroup) -> Vec<v1::ProviderEvent> {
    let p = &group.properties;
    let mut out: Vec<v1::ProviderEvent> = Vec::new();
    for e in p.instance_view.iter().flat_map(|v| v.events.iter()) {
        out.push(convert(e, ""));
    }
    let views = p
        .init_containers
        .iter()
        .map(|c| (&c.name, c.properties.instance_view.as_ref()))
        .chain(p.containers.iter().map(|c| (&c.name, c.properties.instance_view.as_ref())));
    for (name, view) in views {
        for e in view.iter().flat_map(|v| v.events.iter()) {
            out.push(convert(e, name));
        }
    }
    out.sort_by(|a, b| {
        let key = |e: &v1::ProviderEvent| e.last_timestamp.as_ref().map(|t| (t.seconds, t.nanos));
        key(a).cmp(&key(b)).then_with(|| a.key.cmp(&b.key))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Container, ContainerInstanceView, ContainerProperties};

    fn event(name: &str, first: i64, last: i64, count: i32, kind: &str) -> Event {
        Event {
            count,
            first_timestamp: chrono::DateTime::from_timestamp(first, 0),
            last_timestamp: chrono::DateTime::from_timestamp(last, 0),
            name: name.into(),
            message: format!("{name} happened"),
            event_type: kind.into(),
        }
    }

    fn group(events: Vec<Event>) -> ContainerGroup {
        let mut g = ContainerGroup::default();
        g.properties.containers = vec![Container {
            name: "web".into(),
            properties: ContainerProperties {
                instance_view: Some(ContainerInstanceView { events, ..Default::default() }),
                ..Default::default()
            },
        }];
        g
    }

    #[test]
    fn a_repeated_event_keeps_its_key_while_count_grows() {
        let before = provider_events(&group(vec![event("BackOff", 100, 100, 1, "Warning")]));
        let after = provider_events(&group(vec![event("BackOff", 100, 160, 4, "Warning")]));
        assert_eq!(before[0].key, after[0].key);
        assert_eq!((after[0].count, after[0].r#type), (4, v1::EventType::Warning as i32));
        assert_eq!(after[0].container_name, "web");
    }

    #[test]
    fn events_come_oldest_first() {
        let events = provider_events(&group(vec![
            event("Started", 50, 50, 1, "Normal"),
            event("Pulling", 10, 10, 1, "Normal"),
        ]));
        let reasons: Vec<_> = events.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons, vec!["Pulling", "Started"]);
    }
}
