package main

import (
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"github.com/ferrylog/ferry/internal/kafkaconf"
)

// deleteTopics removes the run's topics (the events topic and the
// baselines' topics beside it): one full run writes several GB to the
// shared broker's disk, which the default retention would keep for a week.
func deleteTopics(brokers, prefix string) error {
	list, err := kafkaconf.ParseBrokers(brokers)
	if err != nil {
		return err
	}
	admin, err := sarama.NewClusterAdmin(list, kafkaconf.Producer("ferry-bench-cleanup"))
	if err != nil {
		return err
	}
	defer admin.Close()
	topics, err := admin.ListTopics()
	if err != nil {
		return err
	}
	var failed []string
	for t := range topics {
		if t == prefix || strings.HasPrefix(t, prefix+".") {
			if err := admin.DeleteTopic(t); err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", t, err))
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("delete topics: %s", strings.Join(failed, "; "))
	}
	return nil
}
