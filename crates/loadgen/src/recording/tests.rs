use super::*;

#[test]
fn successes_go_to_histograms_and_failures_to_error_counts() {
    let mut recording = Recording::new(LatencyModel::Closed);
    recording.record(&Sample::for_test(Operation::Balance, None, 3));
    recording.record(&Sample::for_test(
        Operation::Balance,
        Some(ErrorKind::Status(401)),
        9,
    ));
    recording.record(&Sample::for_test(
        Operation::Balance,
        Some(ErrorKind::Timeout),
        9,
    ));
    let balance = recording.operation(Operation::Balance).unwrap();
    assert_eq!((balance.ok(), balance.requests()), (1, 3));
    assert_eq!(balance.errors().status.get(&401), Some(&1));
    assert_eq!(balance.errors().timeout, 1);
    assert_eq!(balance.latency().len(), 1);
    assert!(balance.raw_latency().is_none());
    assert_eq!(recording.bytes_sent(), 300);
    assert!(recording.operation(Operation::Login).is_none());
    assert_eq!(recording.requests(Operation::Login), 0);
}

#[test]
fn open_recordings_keep_raw_latency_beside_the_corrected_one() {
    let mut recording = Recording::new(LatencyModel::Open);
    recording.record(&Sample::for_test(Operation::Login, None, 1000));
    let login = recording.operation(Operation::Login).unwrap();
    let corrected = login.percentile(99.0).unwrap();
    let raw = login.raw_percentile(99.0).unwrap();
    assert!(corrected.abs_diff(Duration::from_secs(1)) < Duration::from_millis(2));
    assert!(raw.abs_diff(Duration::from_millis(500)) < Duration::from_millis(1));
}

#[test]
fn merge_adds_counts_histograms_schedule_and_elapsed() {
    let mut first = Recording::new(LatencyModel::Open);
    first.record(&Sample::for_test(Operation::Balance, None, 2));
    first.record_flow_start(Duration::from_millis(5), true);
    first.set_elapsed(Duration::from_secs(1));
    let mut second = Recording::new(LatencyModel::Open);
    second.record(&Sample::for_test(Operation::Balance, None, 400));
    second.record(&Sample::for_test(
        Operation::Logout,
        Some(ErrorKind::Connect),
        0,
    ));
    second.record_flow_start(Duration::from_micros(10), false);
    second.set_elapsed(Duration::from_secs(2));

    first.merge(second);
    assert_eq!(first.total_requests(), 3);
    assert_eq!(first.total_errors(), 1);
    assert_eq!(first.elapsed(), Duration::from_secs(3));
    let p100 = first.percentile(&[Operation::Balance], 100.0).unwrap();
    assert!(p100 >= Duration::from_millis(399), "{p100:?}");
    let schedule = first.schedule().unwrap();
    assert_eq!((schedule.started, schedule.late), (2, 1));
    assert_eq!(schedule.late_waiting_for_connection, 1);
    assert_eq!(schedule.max_lag, Duration::from_millis(5));
    assert!(schedule.too_few_connections());
}
